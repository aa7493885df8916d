"""Per-workflow run summaries, updated in the transaction that changes a run's state.

:func:`started` runs when ``attestation init`` creates a run, :func:`finished` when a run
leaves ``initialized`` (push: succeeded or blocked; reset: failed or cancelled; expiry).
The overview (:mod:`.overview`) reads only these rows, never the runs.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from chainproof.core.overview import RECENT
from chainproof.server.db import ContractRevision, WorkflowRun, WorkflowStats
from chainproof.server.db.base import utcnow

LETTERS = {
    "succeeded": "s",
    "violated": "v",
    "blocked": "b",
    "failed": "f",
    "cancelled": "c",
    "expired": "e",
}
"""One letter per finished run's outcome; ``v``: succeeded with a policy violation."""
_COUNTED = ("initialized", "succeeded", "blocked", "failed", "cancelled", "expired")


def started(session: Session, run: WorkflowRun) -> None:
    """A run was created: it is the workflow's last run."""
    stats = _locked(session, run)
    stats.runs_total += 1
    stats.runs_initialized += 1
    stats.last_run_id = run.id
    stats.last_run_status = run.status
    stats.last_run_at = run.created_at
    stats.last_runner_type = run.runner_type
    stats.updated_at = utcnow()


def finished(session: Session, run: WorkflowRun, *, was: str = "initialized") -> None:
    """``run`` left state ``was`` for its (terminal) ``run.status``."""
    stats = _locked(session, run)
    _move(stats, was, run.status)
    if stats.last_run_id == run.id:
        stats.last_run_status = run.status
    # By primary key: a push holds the revision already, so this costs it no statement.
    revision = session.get(ContractRevision, run.contract_revision_id or "")
    rev = revision.revision if revision else 0
    stats.recent_statuses = (outcome(run.status, run.policy_result) + stats.recent_statuses)[
        :RECENT
    ]
    stats.recent_revisions = [rev, *stats.recent_revisions][:RECENT]
    stats.last_finished_revision = rev
    if run.status == "succeeded":
        stats.last_success_run_id = run.id
        stats.last_success_at = run.finished_at or utcnow()
        stats.last_success_revision = rev
    stats.updated_at = utcnow()


def outcome(status: str, policy_result: str | None) -> str:
    """The letter a finished run leaves in ``recent_statuses``."""
    if status == "succeeded" and policy_result == "violated":
        return LETTERS["violated"]
    return LETTERS.get(status, "f")


def _move(stats: WorkflowStats, was: str, now: str) -> None:
    for status, delta in ((was, -1), (now, 1)):
        if status in _COUNTED:
            column = f"runs_{status}"
            setattr(stats, column, max(0, getattr(stats, column) + delta))


def _locked(session: Session, run: WorkflowRun) -> WorkflowStats:
    """The workflow's summary, row-locked (PostgreSQL) against a concurrent run's update;
    created on its first run (two first runs at once: one inserts, both then lock it)."""
    session.flush()
    stmt = select(WorkflowStats).where(WorkflowStats.id == run.workflow_id).with_for_update()
    stats = session.scalar(stmt)
    if stats is not None:
        return stats
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "id": run.workflow_id,
        "org_id": run.org_id,
        "workflow_id": run.workflow_id,
        "recent_statuses": "",
        "recent_revisions": [],
        "updated_at": utcnow(),
        **{f"runs_{name}": 0 for name in ("total", *_COUNTED)},
    }
    session.execute(insert(WorkflowStats).values(**values).on_conflict_do_nothing())
    stats = session.scalar(stmt)
    assert stats is not None
    return stats
