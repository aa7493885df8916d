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
    Finding,
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
    attachments: Sequence[IntegrationAttachment] | None = None,
) -> EventRow | None:
    """Record an event and its deliveries to every integration attached to one of
    ``workflows`` (or their projects) whose filters match. None, and nothing stored, when no
    integration wants it or it was recorded already. ``attachments``: those of
    :func:`attached_to`, when the caller has them."""
    if attachments is None:
        attachments = attached_to(session, workflows)
    kinds = set(material_kinds)
    targets = {
        a.integration_id
        for a in attachments
        if (not a.events or type_ in a.events)
        and (not a.material_kinds or kinds & set(a.material_kinds))
    }
    if not targets or session.scalar(select(EventRow.id).where(EventRow.dedup_key == dedup_key)):
        return None
    event = EventRow(
        id=new_id(), org_id=org_id, type=type_, subject=subject, data=data, dedup_key=dedup_key
    )
    session.add(event)
    session.flush()  # the event row first: the unit of work does not order unrelated mappers
    now = utcnow()
    session.add_all(
        Delivery(org_id=org_id, integration_id=i, event_id=event.id, next_attempt_at=now)
        for i in sorted(targets)
    )
    return event


def attached_to(session: Session, workflows: Sequence[Workflow]) -> list[IntegrationAttachment]:
    """Attachments to any of ``workflows`` or their projects (one query; usually none, so
    that an organisation without integrations pays one statement per event)."""
    if not workflows:
        return []
    column = IntegrationAttachment.workflow_id
    stmt = select(IntegrationAttachment).where(
        IntegrationAttachment.project_id.in_({wf.project_id for wf in workflows}),
        or_(column.is_(None), column.in_({wf.id for wf in workflows})),
    )
    return list(session.scalars(stmt))


def run_finished(session: Session, run: WorkflowRun, policies: Sequence[Any] = ()) -> None:
    """Events of a finished run: succeeded, failed or blocked, and a policy violation when
    one of ``policies`` (enforcement.Checked) was violated. Other states record nothing."""
    type_ = _RUN_EVENTS.get(run.status)
    if type_ is None:
        return
    wf = session.get(Workflow, run.workflow_id)
    assert wf is not None
    attachments = attached_to(session, [wf])
    if not attachments:
        return
    project = session.get(Project, wf.project_id)
    assert project is not None
    kinds = set(session.scalars(select(Material.kind).where(Material.run_id == run.id)))
    data = {
        "run_id": run.id,
        "project": project.name,
        "workflow": wf.name,
        "workflow_id": wf.id,
        "status": run.status,
        "reason": run.reason,
        "attestation_digest": run.attestation_digest,
        "material_kinds": sorted(kinds),
        "path": f"/api/v1/runs/{run.id}",  # the worker prefixes the server's URL
    }
    common: dict[str, Any] = {
        "org_id": run.org_id,
        "subject": run.id,
        "workflows": [wf],
        "material_kinds": kinds,
        "attachments": attachments,
    }
    record(session, type_=type_, data=data, dedup_key=f"{type_}:{run.id}", **common)
    violated = [c for c in policies if getattr(c, "violated", False)]
    if violated:
        names = sorted({f"{c.evaluation.name}:{c.evaluation.material_name}" for c in violated})
        data = {**data, "violations": names}
        dedup = f"policy.violated:{run.id}"
        record(session, type_="policy.violated", data=data, dedup_key=dedup, **common)


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


def finding_changed(session: Session, wf: Workflow, finding: Finding, action: str) -> None:
    """A drift finding of ``wf`` opened or closed (``action``), delivered through the
    workflow's attachments."""
    attachments = attached_to(session, [wf])
    if not attachments:
        return
    project = session.get(Project, wf.project_id)
    assert project is not None
    type_ = f"finding.{action}"
    data = {
        "finding_id": finding.id,
        "kind": finding.kind,
        "severity": finding.severity,
        "project": project.name,
        "workflow": wf.name,
        "workflow_id": wf.id,
        "evidence": list(finding.evidence or []),
        "path": f"/api/v1/findings?workflow={wf.name}",
    }
    record(
        session,
        org_id=wf.org_id,
        type_=type_,
        subject=finding.id,
        data=data,
        dedup_key=f"{type_}:{finding.id}",
        workflows=[wf],
        attachments=attachments,
    )
