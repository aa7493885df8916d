"""Jenkins (https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner


class JenkinsJob(EnvRunner):
    """Detected by ``JENKINS_HOME`` and ``BUILD_URL``; the run URL is ``BUILD_URL``."""

    type: ClassVar[str] = "JENKINS_JOB"
    detect_env = ("JENKINS_HOME", "BUILD_URL")
    recorded_env = (
        "JOB_NAME",
        "BUILD_URL",
        # optional
        "GIT_BRANCH",
        "GIT_COMMIT",
        "AGENT_WORKDIR",
        "WORKSPACE",
        "NODE_NAME",
    )

    def url(self, environ: Mapping[str, str]) -> str | None:
        """``BUILD_URL``."""
        return environ.get("BUILD_URL") or None
