"""Dagger: the chainproof Dagger module sets ``CHAINPROOF_DAGGER_CLIENT`` (Chainloop's
module sets ``CHAINLOOP_DAGGER_CLIENT``, accepted too). The pipeline usually runs inside
GitHub Actions or GitLab CI, whose run URL and pull-request variables are used when passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner
from chainproof.core.runners.github_actions import GitHubActions
from chainproof.core.runners.gitlab import MERGE_REQUEST_ENV, GitLabPipeline

CLIENT_ENV = ("CHAINPROOF_DAGGER_CLIENT", "CHAINLOOP_DAGGER_CLIENT")


class DaggerPipeline(EnvRunner):
    """Detected by ``CHAINPROOF_DAGGER_CLIENT`` or ``CHAINLOOP_DAGGER_CLIENT``."""

    type: ClassVar[str] = "DAGGER_PIPELINE"
    recorded_env = (
        *CLIENT_ENV,
        # optional: pull-request context of the CI that runs the Dagger pipeline
        "GITHUB_EVENT_NAME",
        "GITHUB_HEAD_REF",
        "GITHUB_BASE_REF",
        "GITHUB_EVENT_PATH",
        *MERGE_REQUEST_ENV,
    )

    def detect(self, environ: Mapping[str, str]) -> bool:
        """Either client variable is set and non-empty."""
        return any(environ.get(n) for n in CLIENT_ENV)

    def url(self, environ: Mapping[str, str]) -> str | None:
        """The URL of the GitHub or GitLab run hosting the pipeline, when it is visible."""
        for host in (GitHubActions(), GitLabPipeline()):
            if host.detect(environ):
                return host.url(environ)
        return None
