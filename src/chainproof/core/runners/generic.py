"""GENERIC: a local shell or a CI chainproof does not recognise. Always matches; tried last."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner


class GenericRunner(EnvRunner):
    """Records nothing; no run URL."""

    type: ClassVar[str] = "GENERIC"

    def detect(self, environ: Mapping[str, str]) -> bool:
        """Always true."""
        return True
