"""What follows a push's answer: the run's VSA and its workflow's drift findings.

Neither is needed to answer the push, and together they were about half of its time (the VSA
signs and logs a second bundle; the findings reconcile reads the workflow's history), so the
route schedules :func:`follow_up` to run once the answer is sent. Each step has a transaction
of its own, and a failure of one is logged, never raised: a client that reads the VSA first
gets it issued on the spot (:func:`.slsa.ensure_vsa`), the worker's ``vsa_repair`` issues
any still missing after :data:`.vsa.GRACE`, and its periodic findings job reconciles every
workflow (server/jobs/). See docs/architecture.md §6.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.services import findings, vsa
from chainproof.server.telemetry import metrics

__all__ = ["follow_up"]

log = logging.getLogger(__name__)


def follow_up(
    sessions: sessionmaker[Session],
    run_id: str,
    workflow_id: str,
    now: datetime | None = None,
) -> None:
    """Issue the VSA of pushed run ``run_id`` and reconcile its workflow's findings, at
    ``now`` (default: when each step runs)."""
    # Counted apart from the requests' statements (chainproof_db_statements_total).
    outcome = "done"
    with metrics.statement_phase("after_answer"), sessions() as session:
        try:
            with session.begin():
                vsa.issue(session, run_id, now)
        except Exception:
            outcome = "failed"
            log.exception("the VSA of run %s was not issued; the worker will issue it", run_id)
        try:
            with session.begin():
                findings.on_runs_changed(session, [workflow_id], now)
        except Exception:
            outcome = "failed"
            log.exception(
                "the findings of workflow %s were not reconciled; the periodic job will",
                workflow_id,
            )
    metrics.PUSH_FOLLOW_UPS.labels(outcome).inc()
