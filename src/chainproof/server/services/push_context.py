"""The run a push attests to, locked, with everything the push reads about it: one statement.

A push used to read the run three times (the lookup, its context, the lock) and its
workflow, project, organisation and contract once more each (issue 16). One query now locks
the run (``FOR UPDATE OF workflow_runs`` on PostgreSQL; SQLite serialises writers anyway)
and joins the rest, and an ``EXISTS`` says whether any integration listens to the workflow,
so that the common push with none pays nothing for the event outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from chainproof.errors import NotFound
from chainproof.server.db import (
    ContractRevision,
    ContractRow,
    IntegrationAttachment,
    Organization,
    Project,
    Workflow,
    WorkflowRun,
)
from chainproof.server.services import visibility
from chainproof.server.support.principal import Principal

__all__ = ["PushContext", "lock_run"]


@dataclass(frozen=True)
class PushContext:
    """A locked run and its surroundings. Holding the rows also keeps them in the session's
    identity map (which holds objects weakly), so each later ``session.get`` of them by the
    push's checks costs no statement."""

    run: WorkflowRun
    workflow: Workflow
    project: Project
    org: Organization
    revision: ContractRevision | None
    contract: ContractRow | None
    #: Some integration is attached to the workflow or its project (events.run_finished).
    integrations: bool


def lock_run(session: Session, actor: Principal, run_id: str) -> PushContext:
    """The run ``run_id`` (a full id: a prefix unique today may not be tomorrow, and changes
    must not guess) that ``actor`` may attest to, locked; NotFound outside the actor's
    organisation or scope, Forbidden for a project role that may not attest."""
    actor.require_attestor_somewhere()
    try:
        canonical = str(uuid.UUID(run_id))
    except ValueError:
        raise NotFound(f"run {run_id} not found", hint="give the run's full id") from None
    row = session.execute(_query(actor, canonical)).one_or_none()
    if row is None:
        raise NotFound(f"run {run_id} not found")
    run, workflow, project, org, revision, contract, integrations = row
    if actor.restricted:
        actor.require_in_project(workflow.project_id, "attest", f"run {run_id}")
    return PushContext(run, workflow, project, org, revision, contract, bool(integrations))


def _query(actor: Principal, run_id: str) -> Select[Any]:
    attached = exists().where(
        IntegrationAttachment.project_id == Workflow.project_id,
        or_(
            IntegrationAttachment.workflow_id.is_(None),
            IntegrationAttachment.workflow_id == Workflow.id,
        ),
    )
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            WorkflowRun,
            Workflow,
            Project,
            Organization,
            ContractRevision,
            ContractRow,
            attached.label("integrations"),
        )
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .join(Project, Project.id == Workflow.project_id)
        .join(Organization, Organization.id == WorkflowRun.org_id)
        .outerjoin(ContractRevision, ContractRevision.id == WorkflowRun.contract_revision_id)
        .outerjoin(ContractRow, ContractRow.id == ContractRevision.contract_id)
        .where(WorkflowRun.id == run_id, WorkflowRun.org_id == actor.org_id)
        # The lock makes the expiry job and a concurrent push of the same run wait; the
        # row is read again after the wait, so its status is the committed one.
        .with_for_update(of=WorkflowRun)
        .execution_options(populate_existing=True)
    )
    if actor.run_id:
        stmt = stmt.where(WorkflowRun.id == actor.run_id)
    if actor.is_robot and actor.project_id:
        stmt = stmt.where(Workflow.project_id == actor.project_id)
    if actor.is_robot and actor.workflow_id:
        stmt = stmt.where(Workflow.id == actor.workflow_id)
    return visibility.narrow(stmt, actor, Workflow.project_id)
