"""Every verified run gets its VSA: issued right after its push commits, repaired by the worker.

The VSA (services/slsa.py) is signed and logged outside the push's transaction, so a push
does not hold its run, and its log's batch, while the control plane signs a second bundle.
:func:`issue_after_push` issues it in a short transaction of its own in the same request,
before the push is answered. A crash between the two commits leaves a verified run without a
VSA: :func:`missing` finds such runs and the worker's job (server/jobs/vsa.py) issues theirs.
A run is verified when its push was accepted (``succeeded``, or ``blocked`` by policy with its
evidence kept): it has an attestation and ``verification.verified``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.server.db import Attestation, VerificationSummary, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import slsa

__all__ = ["GRACE", "issue_after_push", "missing", "repair"]

log = logging.getLogger(__name__)

#: How long after a push the worker leaves its VSA to the push's own request.
GRACE = timedelta(seconds=30)

_VERIFIED = ("succeeded", "blocked")


def issue_after_push(session: Session, run: WorkflowRun) -> None:
    """Issue the VSA of ``run``, whose push the caller has just committed, and commit it.

    A failure is logged, not raised: the push is recorded and answered, and the worker
    issues the missing VSA (:func:`repair`).
    """
    if run.status not in _VERIFIED or not (run.verification or {}).get("verified"):
        return
    try:
        slsa.issue_vsa(session, run)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("the VSA of run %s was not issued; the worker will issue it", run.id)


def missing(session: Session, *, before: datetime, limit: int = 100) -> list[str]:
    """Verified runs finished before ``before`` that have no VSA, oldest first."""
    stmt = (
        select(WorkflowRun.id, WorkflowRun.verification)
        .join(Attestation, Attestation.run_id == WorkflowRun.id)
        .outerjoin(VerificationSummary, VerificationSummary.run_id == WorkflowRun.id)
        .where(
            VerificationSummary.id.is_(None),
            WorkflowRun.status.in_(_VERIFIED),
            WorkflowRun.finished_at < before,
        )
        .order_by(WorkflowRun.finished_at)
        .limit(limit)
    )
    rows = session.execute(stmt)
    return [run_id for run_id, verification in rows if (verification or {}).get("verified")]


def repair(session: Session, run_id: str, now: datetime | None = None) -> bool:
    """Issue the missing VSA of run ``run_id`` (in the caller's transaction); whether it did
    (False when another process issued it meanwhile)."""
    run = session.get(WorkflowRun, run_id)
    if run is None:
        return False
    return slsa.issue_vsa(session, run, now=now or utcnow())
