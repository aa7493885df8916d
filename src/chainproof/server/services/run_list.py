"""Run lists: filters (project, workflow, version, status, runner, policy result, time
range) and keyset paging on ``(created_at, id)``, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from chainproof.errors import InvalidInput
from chainproof.server.db import (
    ContractRevision,
    ContractRow,
    Project,
    ProjectVersion,
    Workflow,
    WorkflowRun,
)
from chainproof.server.services import runs, visibility
from chainproof.server.services.runs import STATUSES
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal

POLICY_RESULTS = ("passed", "violated", "none")


@dataclass(frozen=True)
class RunFilter:
    """What ``workflow run list`` narrows runs to; None means any."""

    workflow: str | None = None
    project: str | None = None
    version: str | None = None
    status: str | None = None
    runner_type: str | None = None
    policy_result: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_page(
    session: Session,
    actor: Principal,
    *,
    limit: int,
    cursor: str | None,
    where: RunFilter | None = None,
) -> tuple[list[WorkflowRun], str | None]:
    """Runs newest first (keyset paging on created_at, id), filtered; robots see only
    their scope."""
    f = where or RunFilter()
    if f.status and f.status not in STATUSES:
        raise InvalidInput(f"unknown status {f.status!r}", hint=", ".join(STATUSES))
    if f.policy_result and f.policy_result not in POLICY_RESULTS:
        raise InvalidInput(
            f"unknown policy result {f.policy_result!r}", hint=", ".join(POLICY_RESULTS)
        )
    stmt = select(WorkflowRun).where(WorkflowRun.org_id == actor.org_id)
    stmt = _scoped_to_workflows(session, actor, stmt, f)
    if f.status:
        stmt = stmt.where(WorkflowRun.status == f.status)
    if f.runner_type:
        stmt = stmt.where(WorkflowRun.runner_type == f.runner_type)
    if f.policy_result == "none":
        stmt = stmt.where(
            or_(WorkflowRun.policy_result == "none", WorkflowRun.policy_result.is_(None))
        )
    elif f.policy_result:
        stmt = stmt.where(WorkflowRun.policy_result == f.policy_result)
    if f.since:
        stmt = stmt.where(WorkflowRun.created_at >= f.since)
    if f.until:
        stmt = stmt.where(WorkflowRun.created_at < f.until)
    return pagination.keyset_page(
        session, stmt, limit, cursor, at=WorkflowRun.created_at, key=WorkflowRun.id
    )


def _scoped_to_workflows(
    session: Session, actor: Principal, stmt: Select[WorkflowRun], f: RunFilter
) -> Select[WorkflowRun]:
    """Narrow to the named project/workflow/version and a robot's scope. Names resolve to
    ids first (small lookups), so the run query itself is one index range scan."""
    if f.project or f.workflow or actor.project_id:
        wf_ids = select(Workflow.id).where(Workflow.org_id == actor.org_id)
        if f.workflow:
            wf_ids = wf_ids.where(Workflow.name == f.workflow)
        if f.project:
            wf_ids = wf_ids.join(Project, Project.id == Workflow.project_id).where(
                Project.name == f.project
            )
        if actor.project_id:
            wf_ids = wf_ids.where(Workflow.project_id == actor.project_id)
        stmt = stmt.where(WorkflowRun.workflow_id.in_(list(session.scalars(wf_ids))))
    if actor.workflow_id:
        stmt = stmt.where(WorkflowRun.workflow_id == actor.workflow_id)
    if actor.run_id:
        stmt = stmt.where(WorkflowRun.id == actor.run_id)
    if actor.restricted:  # a person holding project roles: those projects' runs
        visible = select(Workflow.id).where(Workflow.org_id == actor.org_id)
        visible = visibility.narrow(visible, actor, Workflow.project_id)
        stmt = stmt.where(WorkflowRun.workflow_id.in_(visible))
    if f.version:
        versions = select(ProjectVersion.id).where(ProjectVersion.version == f.version)
        versions = versions.join(Project, Project.id == ProjectVersion.project_id).where(
            Project.org_id == actor.org_id
        )
        if f.project:
            versions = versions.where(Project.name == f.project)
        ids = list(session.scalars(versions))
        stmt = stmt.where(WorkflowRun.project_version_id.in_(ids))
    return stmt


def views(session: Session, rows: list[WorkflowRun]) -> list[dict[str, Any]]:
    """:func:`runs.view` of each row, with what the views name loaded in five queries
    (not five per run): workflows, projects, contract revisions, contracts, versions."""
    # The identity map holds rows weakly: ``held`` keeps them for the views' lookups.
    held = _load(session, Workflow, {r.workflow_id for r in rows})
    held += _load(session, Project, {w.project_id for w in held})
    revisions = _load(session, ContractRevision, {r.contract_revision_id for r in rows})
    held += revisions + _load(session, ContractRow, {rev.contract_id for rev in revisions})
    held += _load(session, ProjectVersion, {r.project_version_id for r in rows} - {None})
    return [runs.view(session, r) for r in rows]


def _load(session: Session, model: Any, ids: set[Any]) -> list[Any]:
    """The rows of ``model`` with ``ids``, in one query."""
    return list(session.scalars(select(model).where(model.id.in_(ids)))) if ids else []
