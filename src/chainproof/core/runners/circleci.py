"""CircleCI (https://circleci.com/docs/variables/#built-in-environment-variables)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner


class CircleCIBuild(EnvRunner):
    """Detected by ``CIRCLECI=true``; the run URL is ``CIRCLE_BUILD_URL``."""

    type: ClassVar[str] = "CIRCLECI_BUILD"
    recorded_env = (
        "CIRCLE_BUILD_URL",
        "CIRCLE_JOB",
        "CIRCLE_BRANCH",
        "CIRCLE_NODE_TOTAL",
        "CIRCLE_NODE_INDEX",
    )

    def detect(self, environ: Mapping[str, str]) -> bool:
        """``CIRCLECI`` is ``true``."""
        return environ.get("CIRCLECI", "").lower() == "true"

    def url(self, environ: Mapping[str, str]) -> str | None:
        """``CIRCLE_BUILD_URL``."""
        return environ.get("CIRCLE_BUILD_URL") or None
