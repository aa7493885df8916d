"""The organisation overview's rules, pure: compliance and the state of one workflow.

A workflow's recent history is a string of outcome letters, newest first (the control
plane keeps the last :data:`RECENT`): ``s`` succeeded, ``v`` succeeded with a policy
violation, ``b`` blocked by a policy, ``f`` failed, ``c`` cancelled, ``e`` expired; beside
it, the contract revision number each of those runs ran on.

- **compliance**: the share of those runs that succeeded (``s``: no violation) on the
  contract's newest revision; None before the first finished run.
- **compliant**: its latest finished run succeeded on the newest revision with no violation.
- **lagging**: its last successful run ran on an older revision than the newest.
- **failing**: its last :data:`FAILING_RUNS` finished runs all failed, expired or were
  blocked.
- **unmanaged**: its contract's newest revision requires nothing (the empty contract that
  implicit creation gives a workflow).
- **integrated**: it has had at least one run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chainproof.core.contract import Contract

RECENT = 10
"""How many finished runs compliance looks at."""
FAILING_RUNS = 3
"""How many consecutive failed, expired or blocked runs make a workflow failing."""
_FAILED = frozenset("fbe")


@dataclass(frozen=True)
class History:
    """What the overview knows of one workflow's runs."""

    runs: int
    recent: str
    recent_revisions: Sequence[int]
    last_success_revision: int | None


@dataclass(frozen=True)
class State:
    """One workflow's standing against its contract's newest revision."""

    compliance: float | None
    compliant: bool
    lagging: bool
    failing: bool


def assess(history: History, newest_revision: int) -> State:
    """The workflow's standing; see the module docstring for each term."""
    pairs = list(zip(history.recent, history.recent_revisions, strict=False))[:RECENT]
    good = [letter == "s" and rev == newest_revision for letter, rev in pairs]
    last_success = history.last_success_revision
    window = history.recent[:FAILING_RUNS]
    return State(
        compliance=round(sum(good) / len(good), 4) if good else None,
        compliant=bool(good) and good[0],
        lagging=last_success is not None and last_success < newest_revision,
        failing=len(window) == FAILING_RUNS and set(window) <= _FAILED,
    )


def requires_nothing(spec: Mapping[str, Any]) -> bool:
    """A contract revision that asks for no material, runner, variable, annotation or
    policy: a workflow under it is unmanaged."""
    c = Contract.from_dict(spec)
    policies = any(c.policies.get(section) for section in ("materials", "attestation"))
    return not (
        c.materials
        or c.env_allow_list
        or c.runner_type
        or c.annotations
        or policies
        or c.policy_groups
    )
