"""Workflow lifecycle (owner/admin, or the project's admin; audited): block and unblock,
rename, archive and unarchive, delete. Creation, reads and ``update`` live in
:mod:`.workflows`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict
from chainproof.server.db import Project, Workflow, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit, blocks, running, workflows
from chainproof.server.services.orgs import check_name
from chainproof.server.support.principal import Principal


def block(
    session: Session,
    actor: Principal,
    project: str,
    name: str,
    reason: str,
    now: datetime | None = None,
) -> Workflow:
    """Stop the workflow: new runs and pushes of runs in progress are refused."""
    wf = workflows.for_admin(session, actor, project, name)
    blocks.block(wf, actor, reason, now)
    audit.record(
        session, actor.org_id, actor, "workflow.block", wf.id, project=project, reason=reason
    )
    return wf


def unblock(
    session: Session, actor: Principal, project: str, name: str, reason: str | None = None
) -> Workflow:
    """Let the workflow run again; the audit event keeps the block it lifted."""
    wf = workflows.for_admin(session, actor, project, name)
    lifted = blocks.unblock(wf)
    audit.record(
        session,
        actor.org_id,
        actor,
        "workflow.unblock",
        wf.id,
        project=project,
        reason=reason,
        lifted=lifted,
    )
    return wf


def rename(
    session: Session,
    actor: Principal,
    project: str,
    name: str,
    to: str,
    now: datetime | None = None,
) -> Workflow:
    """Rename within its project; Conflict when the name is taken or a run is in progress
    (its signing identity names the workflow: the push would no longer verify)."""
    check_name("workflow", to)
    wf = workflows.for_admin(session, actor, project, name)
    project_row = session.get(Project, wf.project_id)
    assert project_row is not None
    if to != name and workflows.find(session, project_row, to) is not None:
        raise Conflict(f"workflow {project}/{to} already exists", hint="choose another name")
    running.refuse_rename(session, [wf.id], f"workflow {project}/{name}", now)
    wf.name = to
    session.flush()
    audit.record(
        session, actor.org_id, actor, "workflow.rename", wf.id, project=project, old=name, new=to
    )
    return wf


def archive(
    session: Session, actor: Principal, project: str, name: str, now: datetime | None = None
) -> Workflow:
    """Hide the workflow from lists and refuse new runs; its runs are kept."""
    wf = workflows.for_admin(session, actor, project, name)
    if wf.archived_at is not None:
        raise Conflict(f"workflow {project}/{name} is already archived")
    wf.archived_at = now or utcnow()
    audit.record(session, actor.org_id, actor, "workflow.archive", wf.id, project=project)
    return wf


def unarchive(session: Session, actor: Principal, project: str, name: str) -> Workflow:
    """Bring an archived workflow back."""
    wf = workflows.for_admin(session, actor, project, name)
    if wf.archived_at is None:
        raise Conflict(f"workflow {project}/{name} is not archived")
    wf.archived_at = None
    audit.record(session, actor.org_id, actor, "workflow.unarchive", wf.id, project=project)
    return wf


def delete(session: Session, actor: Principal, project: str, name: str) -> None:
    """Delete a workflow that never ran; Conflict (hint: archive) when it has runs."""
    wf = workflows.for_admin(session, actor, project, name)
    runs = session.scalar(
        select(func.count()).select_from(WorkflowRun).where(WorkflowRun.workflow_id == wf.id)
    )
    if runs:
        raise Conflict(
            f"workflow {project}/{name} has {runs} run(s): deleting it would lose their history",
            hint=f"archive it instead: `chainproof workflow archive --name {name} "
            f"--project {project}`",
            runs=runs,
        )
    audit.record(session, actor.org_id, actor, "workflow.delete", wf.id, project=project, name=name)
    session.delete(wf)
    session.flush()
