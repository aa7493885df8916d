"""CI runner context: which CI system runs the job, and what it says about the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunnerContext:
    """What the CLI found out about the CI runner at ``attestation init``.

    ``type`` is a Chainloop runner type name (``GITHUB_ACTION``, ``GITLAB_PIPELINE``, ...,
    or ``GENERIC`` for a local shell or an unknown CI); ``env`` holds the runner's own
    recorded variables plus the contract's ``envAllowList`` values.
    """

    type: str
    url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    environment: str = "unknown"  # managed | self-hosted | unknown

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "url": self.url, "env": dict(self.env),
                "environment": self.environment}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunnerContext:
        return cls(type=data["type"], url=data.get("url"), env=dict(data.get("env") or {}),
                   environment=data.get("environment", "unknown"))
