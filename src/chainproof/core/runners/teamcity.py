"""TeamCity (https://www.jetbrains.com/help/teamcity/predefined-build-parameters.html)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner


class TeamCityPipeline(EnvRunner):
    """Detected by ``TEAMCITY_PROJECT_NAME``; the run URL is ``BUILD_URL``."""

    type: ClassVar[str] = "TEAMCITY_PIPELINE"
    detect_env = ("TEAMCITY_PROJECT_NAME",)
    recorded_env = (
        "BUILD_URL",
        "TEAMCITY_PROJECT_NAME",
        # optional
        "TEAMCITY_VERSION",
        "BUILD_NUMBER",
        "USER",
        "TEAMCITY_GIT_VERSION",
        "BUILD_VCS_NUMBER",
        "HOME",
    )

    def url(self, environ: Mapping[str, str]) -> str | None:
        """``BUILD_URL``."""
        return environ.get("BUILD_URL") or None
