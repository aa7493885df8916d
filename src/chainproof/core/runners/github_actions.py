"""GitHub Actions (https://docs.github.com/actions/learn-github-actions/variables)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner

DEFAULT_SERVER_URL = "https://github.com"


class GitHubActions(EnvRunner):
    """Detected by ``CI``, ``GITHUB_REPOSITORY`` and ``GITHUB_RUN_ID``."""

    type: ClassVar[str] = "GITHUB_ACTION"
    detect_env = ("CI", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    recorded_env = (
        "GITHUB_ACTOR",
        "GITHUB_REF",
        "GITHUB_REPOSITORY",
        "GITHUB_REPOSITORY_OWNER",
        "GITHUB_RUN_ID",
        "GITHUB_SHA",
        "RUNNER_NAME",
        "RUNNER_OS",
        # optional: pull-request context
        "GITHUB_EVENT_NAME",
        "GITHUB_HEAD_REF",
        "GITHUB_BASE_REF",
        "GITHUB_EVENT_PATH",
    )

    def url(self, environ: Mapping[str, str]) -> str | None:
        """``<server>/<owner>/<repo>/actions/runs/<run id>`` (GitHub Enterprise aware)."""
        server = (environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")
        return f"{server}/{environ['GITHUB_REPOSITORY']}/actions/runs/{environ['GITHUB_RUN_ID']}"

    def environment(self, environ: Mapping[str, str]) -> str:
        """From ``RUNNER_ENVIRONMENT``: github-hosted -> managed, self-hosted -> self-hosted."""
        return {"github-hosted": "managed", "self-hosted": "self-hosted"}.get(
            environ.get("RUNNER_ENVIRONMENT", ""), "unknown"
        )
