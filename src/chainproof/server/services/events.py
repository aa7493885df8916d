"""Events and their delivery outbox: the transaction that causes an event records it and
writes one delivery row per matching integration attachment, so an event is delivered if and
only if its cause was committed, and no request waits for a receiver (workers deliver:
services/delivery.py, jobs/delivery.py; docs/integrations.md).

Each event is recorded once (``dedup_key``): a push answered again from its idempotency key,
or a run seen twice, adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chainproof.server.db import (
    ContractRevision,
    ContractRow,
    Delivery,
    EventRow,
    IntegrationAttachment,
    Material,
    Project,
    Workflow,
    WorkflowRun,
)
from chainproof.server.db.base import new_id, utcnow

_RUN_EVENTS = {"succeeded": "run.succeeded", "failed": "run.failed", "blocked": "run.blocked"}


def record(
    session: Session,
    *,
    org_id: str,
    type_: str,
    subject: str,
    data: dict[str, Any],
    dedup_key: str,
    workflows: Sequence[Workflow],
    material_kinds: Iterable[str] = (),
) -> EventRow | None:
    """Record an event and its deliveries to every integration attached to one of
    ``workflows`` (or their projects) whose filters match; None when it was recorded
    already."""
    if session.scalar(select(EventRow.id).where(EventRow.dedup_key == dedup_key)):
        return None
    event = EventRow(
        id=new_id(), org_id=org_id, type=type_, subject=subject, data=data, dedup_key=dedup_key
    )
    session.add(event)
    kinds = set(material_kinds)
    targets = {
        integration for wf in workflows for integration in _matching(session, wf, type_, kinds)
    }
    now = utcnow()
    session.add_all(
        Delivery(org_id=org_id, integration_id=i, event_id=event.id, next_attempt_at=now)
        for i in sorted(targets)
    )
    return event


def _matching(session: Session, wf: Workflow, type_: str, kinds: set[str]) -> set[str]:
    """Integrations attached to ``wf`` or its project whose filters let the event through."""
    stmt = select(IntegrationAttachment).where(
        IntegrationAttachment.project_id == wf.project_id,
        or_(
            IntegrationAttachment.workflow_id.is_(None), IntegrationAttachment.workflow_id == wf.id
        ),
    )
    return {
        a.integration_id
        for a in session.scalars(stmt)
        if (not a.events or type_ in a.events)
        and (not a.material_kinds or kinds & set(a.material_kinds))
    }


def run_finished(session: Session, run: WorkflowRun, policies: Sequence[Any] = ()) -> None:
    """Events of a finished run: succeeded, failed or blocked, and a policy violation when
    one of ``policies`` (enforcement.Checked) was violated. Other states record nothing."""
    type_ = _RUN_EVENTS.get(run.status)
    if type_ is None:
        return
    session.flush()
    wf = session.get(Workflow, run.workflow_id)
    assert wf is not None
    project = session.get(Project, wf.project_id)
    assert project is not None
    kinds = set(session.scalars(select(Material.kind).where(Material.run_id == run.id)))
    data = {
        "run_id": run.id,
        "project": project.name,
        "workflow": wf.name,
        "status": run.status,
        "reason": run.reason,
        "attestation_digest": run.attestation_digest,
        "material_kinds": sorted(kinds),
        "path": f"/api/v1/runs/{run.id}",  # the worker prefixes the server's URL
    }
    dedup = f"{type_}:{run.id}"
    _record_run(session, run, type_, data, dedup, wf, kinds)
    violated = [c for c in policies if getattr(c, "violated", False)]
    if violated:
        names = sorted({f"{c.evaluation.name}:{c.evaluation.material_name}" for c in violated})
        data = {**data, "violations": names}
        _record_run(session, run, "policy.violated", data, f"policy.violated:{run.id}", wf, kinds)


def _record_run(
    session: Session,
    run: WorkflowRun,
    type_: str,
    data: dict[str, Any],
    dedup_key: str,
    wf: Workflow,
    kinds: set[str],
) -> None:
    record(
        session,
        org_id=run.org_id,
        type_=type_,
        subject=run.id,
        data=data,
        dedup_key=dedup_key,
        workflows=[wf],
        material_kinds=kinds,
    )


def contract_published(session: Session, contract: ContractRow, rev: ContractRevision) -> None:
    """A new contract revision: one event, delivered through every workflow that uses the
    contract (so the teams owning them learn the new requirements)."""
    users = list(session.scalars(select(Workflow).where(Workflow.contract_id == contract.id)))
    kinds = {str(m.get("type")) for m in rev.spec.get("spec", {}).get("materials", [])}
    names = sorted(w.name for w in users)
    data = {
        "contract": contract.name,
        "revision": rev.revision,
        "workflows": names,
        "material_kinds": sorted(kinds),
        "path": f"/api/v1/contracts/{contract.name}?revision={rev.revision}",
    }
    record(
        session,
        org_id=contract.org_id,
        type_="contract.published",
        subject=f"{contract.name}@{rev.revision}",
        data=data,
        dedup_key=f"contract.published:{rev.id}",
        workflows=users,
        material_kinds=kinds,
    )
