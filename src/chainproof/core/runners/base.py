"""CI runner context: which CI system runs the job, and what it says about the run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


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
        return {
            "type": self.type,
            "url": self.url,
            "env": dict(self.env),
            "environment": self.environment,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunnerContext:
        return cls(
            type=data["type"],
            url=data.get("url"),
            env=dict(data.get("env") or {}),
            environment=data.get("environment", "unknown"),
        )


def pick_env(environ: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The variables of ``names`` that are set and non-empty in ``environ``, in that order."""
    return {n: environ[n] for n in names if environ.get(n)}


class Runner(Protocol):
    """One CI system: recognises itself from the environment and describes the run.

    Both methods are pure functions of the ``environ`` mapping they are given (the CLI
    passes the process environment; tests pass a dict). ``detect`` never raises.
    """

    type: ClassVar[str]

    def detect(self, environ: Mapping[str, str]) -> bool: ...

    def context(self, environ: Mapping[str, str]) -> RunnerContext: ...


class EnvRunner:
    """A runner recognised by environment variables, the common case.

    Subclasses set ``type``, ``detect_env`` (all must be set and non-empty), ``recorded_env``
    (recorded when set) and override :meth:`url` / :meth:`environment` where the CI says more.
    """

    type: ClassVar[str]
    detect_env: ClassVar[tuple[str, ...]] = ()
    recorded_env: ClassVar[tuple[str, ...]] = ()

    def detect(self, environ: Mapping[str, str]) -> bool:
        """True when every ``detect_env`` variable is set and non-empty."""
        return bool(self.detect_env) and all(environ.get(n) for n in self.detect_env)

    def url(self, environ: Mapping[str, str]) -> str | None:
        """The run's web page, when the CI says."""
        return None

    def environment(self, environ: Mapping[str, str]) -> str:
        """``managed``, ``self-hosted`` or ``unknown``."""
        return "unknown"

    def context(self, environ: Mapping[str, str]) -> RunnerContext:
        """The runner context of this run."""
        return RunnerContext(
            type=self.type,
            url=self.url(environ),
            env=pick_env(environ, self.recorded_env),
            environment=self.environment(environ),
        )
