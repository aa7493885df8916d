"""Drift rules: which findings a workflow should have open now, from its recent runs.

Pure functions over summaries the control plane assembles (``server/services/findings.py``
reconciles the table with what :func:`detect` returns). Each rule looks at one workflow:

=================  ========  =========================================================
kind               severity  open while
=================  ========  =========================================================
``failing``        high      its last K finished runs (cancelled ones aside) all failed,
                             expired or were blocked
``regressed``      high      its latest successful run lacks a material kind, an
                             annotation or a passing policy its previous successful run
                             had (kept open until what went missing is back)
``unmanaged``      medium    its contract requires nothing (the empty contract implicit
                             creation gives)
``runner-changed`` medium    its latest run used another runner type, or a self-hosted
                             machine, than most of its previous runs
``stopped``        medium    no run for longer than its cadence (learned, or overridden)
``lagging``        low       its latest successful run is on an older contract revision
                             (or on the contract it had before its current one)
=================  ========  =========================================================
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "FAILED_STATUSES",
    "KINDS",
    "SEVERITY",
    "Detected",
    "DriftSettings",
    "RunSummary",
    "WorkflowFacts",
    "detect",
    "learned_cadence",
]

SEVERITY = {
    "failing": "high",
    "regressed": "high",
    "unmanaged": "medium",
    "runner-changed": "medium",
    "stopped": "medium",
    "lagging": "low",
}
KINDS = tuple(SEVERITY)
FAILED_STATUSES = frozenset({"failed", "expired", "blocked"})
_SELF_HOSTED = "self-hosted"


@dataclass(frozen=True)
class RunSummary:
    """What one run tells the rules. ``policies_passed`` / ``policies_failed`` name the
    policies evaluated without and with violations (skipped ones in neither). Only the
    latest two successful runs' evidence sets are read; other runs may leave them empty."""

    id: str
    status: str
    created_at: datetime
    runner_type: str
    runner_environment: str = "unknown"  # managed | self-hosted | unknown
    contract_revision: int | None = None
    contract: str | None = None
    material_kinds: frozenset[str] = frozenset()
    annotations: frozenset[str] = frozenset()
    policies_passed: frozenset[str] = frozenset()
    policies_failed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WorkflowFacts:
    """What the rules need besides runs: whether the contract requires anything, its newest
    revision, the cadence override, and what an open ``regressed`` finding still misses."""

    contract_requires_nothing: bool
    latest_revision: int
    contract: str | None = None
    cadence_override: timedelta | None = None
    still_missing: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DriftSettings:
    """The organisation-wide knobs: a workflow is ``stopped`` after ``cadence_factor`` times
    the median gap between its last ``window`` runs (at least ``stopped_floor``; learned from
    ``min_runs`` runs or more); ``failing`` after ``failing_runs`` failures in a row."""

    stopped_floor: timedelta = timedelta(days=1)
    cadence_factor: float = 3.0
    min_runs: int = 3
    window: int = 20
    failing_runs: int = 3


@dataclass(frozen=True)
class Detected:
    """A finding that should be open: its kind, the runs that show it, and its details."""

    kind: str
    evidence: tuple[str, ...]
    details: dict[str, Any]

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


def detect(
    runs: Sequence[RunSummary],
    facts: WorkflowFacts,
    now: datetime,
    settings: DriftSettings | None = None,
) -> list[Detected]:
    """The findings a workflow should have open at ``now``; ``runs`` newest first."""
    settings = settings or DriftSettings()
    found = [
        _unmanaged(facts),
        _stopped(runs, facts, now, settings),
        _failing(runs, settings),
        _regressed(runs, facts),
        _runner_changed(runs),
        _lagging(runs, facts),
    ]
    return [f for f in found if f is not None]


def learned_cadence(runs: Sequence[RunSummary], settings: DriftSettings) -> timedelta | None:
    """The median gap between consecutive runs (newest first), or None with too few runs."""
    recent = runs[: settings.window]
    if len(recent) < settings.min_runs:
        return None
    gaps = [(a.created_at - b.created_at).total_seconds() for a, b in itertools.pairwise(recent)]
    return timedelta(seconds=statistics.median(gaps))


def _unmanaged(facts: WorkflowFacts) -> Detected | None:
    if not facts.contract_requires_nothing:
        return None
    return Detected("unmanaged", (), {"reason": "its contract requires nothing"})


def _stopped(
    runs: Sequence[RunSummary], facts: WorkflowFacts, now: datetime, settings: DriftSettings
) -> Detected | None:
    if not runs:
        return None
    cadence = facts.cadence_override
    learned = cadence is None
    if cadence is None:
        median = learned_cadence(runs, settings)
        if median is None:
            return None
        cadence = max(settings.stopped_floor, median * settings.cadence_factor)
    silent = now - runs[0].created_at
    if silent <= cadence:
        return None
    details = {
        "last_run_at": _iso(runs[0].created_at),
        "allowed_seconds": int(cadence.total_seconds()),
        "silent_seconds": int(silent.total_seconds()),
        "learned": learned,
    }
    return Detected("stopped", (runs[0].id,), details)


def _failing(runs: Sequence[RunSummary], settings: DriftSettings) -> Detected | None:
    finished = [r for r in runs if r.status not in ("initialized", "cancelled")]
    last = finished[: settings.failing_runs]
    if len(last) < settings.failing_runs or any(r.status not in FAILED_STATUSES for r in last):
        return None
    details = {"statuses": [r.status for r in last]}
    return Detected("failing", tuple(r.id for r in last), details)


def _regressed(runs: Sequence[RunSummary], facts: WorkflowFacts) -> Detected | None:
    succeeded = [r for r in runs if r.status == "succeeded"]
    if not succeeded:
        return None
    latest = succeeded[0]
    previous = succeeded[1] if len(succeeded) > 1 else None
    had = {
        "material_kinds": set(previous.material_kinds) if previous else set(),
        "annotations": set(previous.annotations) if previous else set(),
        "policies": set(previous.policies_passed) if previous else set(),
    }
    for key, names in facts.still_missing.items():
        had.setdefault(key, set()).update(names)
    has = {
        "material_kinds": latest.material_kinds,
        "annotations": latest.annotations,
        "policies": latest.policies_passed,
    }
    missing = {key: sorted(names - has[key]) for key, names in had.items() if names - has[key]}
    if not missing:
        return None
    failing = sorted(set(missing.get("policies", ())) & latest.policies_failed)
    details: dict[str, Any] = {**missing, "policies_failing": failing}
    evidence = (latest.id, previous.id) if previous else (latest.id,)
    return Detected("regressed", evidence, details)


def _runner_changed(runs: Sequence[RunSummary]) -> Detected | None:
    if len(runs) < 2:
        return None
    latest, before = runs[0], runs[1:]
    usual_type = _most_common([r.runner_type for r in before])
    if latest.runner_type != usual_type:
        details = {"from": usual_type, "to": latest.runner_type}
        return Detected("runner-changed", (latest.id, before[0].id), details)
    known = [r.runner_environment for r in before if r.runner_environment != "unknown"]
    usual_env = _most_common(known) if known else None
    if latest.runner_environment == _SELF_HOSTED and usual_env not in (None, _SELF_HOSTED):
        details = {"from": usual_env, "to": _SELF_HOSTED, "runner_type": latest.runner_type}
        return Detected("runner-changed", (latest.id, before[0].id), details)
    return None


def _lagging(runs: Sequence[RunSummary], facts: WorkflowFacts) -> Detected | None:
    latest = next((r for r in runs if r.status == "succeeded"), None)
    if latest is None or latest.contract_revision is None:
        return None
    moved = None not in (latest.contract, facts.contract) and latest.contract != facts.contract
    if not moved and latest.contract_revision >= facts.latest_revision:
        return None
    details: dict[str, Any] = {
        "revision": latest.contract_revision,
        "latest_revision": facts.latest_revision,
    }
    if moved:  # its last success was under the contract it had before
        details.update(contract=latest.contract, latest_contract=facts.contract)
    return Detected("lagging", (latest.id,), details)


def _most_common(values: Sequence[str]) -> str:
    """The most frequent value; among equals, the most recent (values are newest first)."""
    counts = Counter(values)
    top = max(counts.values())
    return next(v for v in values if counts[v] == top)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
