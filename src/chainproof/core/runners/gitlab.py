"""GitLab CI/CD (https://docs.gitlab.com/ee/ci/variables/predefined_variables.html)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner

MERGE_REQUEST_ENV = (
    "CI_PIPELINE_SOURCE",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DESCRIPTION",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_MERGE_REQUEST_PROJECT_URL",
    "CI_MERGE_REQUEST_PROJECT_PATH",
)
"""Optional merge-request context, recorded when GitLab sets it."""


class GitLabPipeline(EnvRunner):
    """Detected by ``GITLAB_CI``; the run URL is ``CI_JOB_URL``."""

    type: ClassVar[str] = "GITLAB_PIPELINE"
    detect_env = ("GITLAB_CI",)
    recorded_env = (
        "GITLAB_USER_EMAIL",
        "GITLAB_USER_LOGIN",
        "CI_SERVER_URL",
        "CI_PROJECT_URL",
        "CI_COMMIT_SHA",
        "CI_JOB_URL",
        "CI_PIPELINE_URL",
        "CI_RUNNER_VERSION",
        # optional
        "CI_RUNNER_DESCRIPTION",
        "CI_COMMIT_REF_NAME",
        "CI_PROJECT_PATH",
        *MERGE_REQUEST_ENV,
    )

    def url(self, environ: Mapping[str, str]) -> str | None:
        """``CI_JOB_URL``."""
        return environ.get("CI_JOB_URL") or None
