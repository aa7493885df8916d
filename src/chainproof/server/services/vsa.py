"""Every verified run gets its VSA: after its push is answered, on first read, or by the worker.

The VSA (services/slsa.py) is signed and logged outside the push's transaction, so a push
does not hold its run, and its log's batch, while the control plane signs a second bundle.
:func:`issue` runs after the push's answer is sent (services/after_push.py), in a transaction
of its own. A reader that comes first (``GET /runs/{id}/vsa``, provenance, the run's page)
issues it on the spot (:func:`.slsa.ensure_vsa`); the summary row's claim makes sure only
one of them signs and logs it. A crash before either leaves a verified run without a VSA:
:func:`missing` finds such runs and the worker's job (server/jobs/vsa.py) issues theirs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chainproof.server.db import Attestation, VerificationSummary, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit, signing, slsa, tlog

if TYPE_CHECKING:
    from chainproof.core.bundle import Bundle

__all__ = ["GRACE", "issue", "issue_many", "missing", "repair"]

#: How long after a push the worker leaves its VSA to the push's follow-up. Not a guard
#: against issuing twice (the claim in slsa.issue_vsa is), only against racing a follow-up
#: that is about to run: the follow-up runs as soon as the answer is sent, so a VSA still
#: missing after this long was lost (a crash, a failed follow-up).
GRACE = timedelta(seconds=30)


def issue(session: Session, run_id: str, now: datetime | None = None) -> bool:
    """Issue the VSA of run ``run_id`` if it is verified and has none (in the caller's
    transaction); whether it did (False when another request issued it meanwhile)."""
    run = session.get(WorkflowRun, run_id)
    if run is None or not slsa.verified(run):
        return False
    return slsa.issue_vsa(session, run, now=now or utcnow())


def issue_many(session: Session, run_ids: list[str], now: datetime | None = None) -> list[str]:
    """Issue the VSA of each of ``run_ids`` that is verified and has none, each as
    :func:`issue` would, in the caller's transaction and a few statements whatever their
    number: one claim, one read of their facts, ONE log batch per organisation, one update
    of their summaries, one insert of their audit events. The runs it issued."""
    now = now or utcnow()
    pushed = select(WorkflowRun).join(Attestation, Attestation.run_id == WorkflowRun.id)
    runs = [
        r for r in session.scalars(pushed.where(WorkflowRun.id.in_(run_ids))) if slsa.verified(r)
    ]
    # Signed before the claim, which holds the summaries' rows (and SQLite's write lock)
    # until the batch commits: signing is the batch's slow part. A run another request
    # claims meanwhile loses only its signature here: it is logged by whoever claimed it.
    facts = slsa.facts_of(session, runs)
    signed: list[tuple[WorkflowRun, str, slsa.Rendered, Bundle]] = []
    for run in runs:
        attestation, fact = facts[run.id]
        vsa = slsa.render(session, run, attestation, fact, now=now)
        bundle = signing.sign_as_verifier(session, run.org_id, fact.org, vsa.statement, now=now)
        signed.append((run, fact.org, vsa, bundle))
    claimed = slsa.claim_many(session, [run.id for run in runs], now)
    by_org: dict[tuple[str, str], list[tuple[WorkflowRun, slsa.Rendered, Bundle]]]
    by_org = defaultdict(list)
    for run, org_name, vsa, bundle in signed:
        if run.id in claimed:  # the others have one, or are being issued
            by_org[(run.org_id, org_name)].append((run, vsa, bundle))
    rows: list[dict[str, Any]] = []
    events: list[tuple[str, str, str | None, dict[str, Any]]] = []
    for (org_id, org_name), ready in by_org.items():
        unlogged = [(bundle, run.id) for run, _, bundle in ready]
        notarised = tlog.notarise_many(session, org_id, org_name, unlogged, now=now)
        for (run, vsa, _), bundle in zip(ready, notarised, strict=True):
            rows.append({"id": claimed[run.id]} | vsa.row(bundle))
            events.append((org_id, "run.vsa", run.id, vsa.audit))
    if rows:
        session.execute(update(VerificationSummary), rows)  # by primary key: one executemany
    audit.record_many(session, events)
    return [run.id for run in runs if run.id in claimed]


def missing(session: Session, *, before: datetime, limit: int = 100) -> list[str]:
    """Verified runs finished before ``before`` that have no VSA, oldest first."""
    stmt = (
        select(WorkflowRun.id, WorkflowRun.verification)
        .join(Attestation, Attestation.run_id == WorkflowRun.id)
        .outerjoin(VerificationSummary, VerificationSummary.run_id == WorkflowRun.id)
        .where(
            VerificationSummary.id.is_(None),
            WorkflowRun.status.in_(slsa.VERIFIED),
            WorkflowRun.finished_at < before,
        )
        .order_by(WorkflowRun.finished_at)
        .limit(limit)
    )
    rows = session.execute(stmt)
    return [run_id for run_id, verification in rows if (verification or {}).get("verified")]


#: The worker's name for :func:`issue` (a run it found :func:`missing`).
repair = issue
