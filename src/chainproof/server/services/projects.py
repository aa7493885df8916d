"""Projects (their versions: :mod:`.versions`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, NotFound
from chainproof.server.db import Project, Workflow
from chainproof.server.db.inserts import insert_if_absent
from chainproof.server.services import audit, blocks, running, visibility
from chainproof.server.services.orgs import check_name
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339


def find(session: Session, org_id: str, name: str) -> Project | None:
    """The project called ``name`` in the organisation, if any."""
    return session.scalar(select(Project).where(Project.org_id == org_id, Project.name == name))


def get(session: Session, org_id: str, name: str) -> Project:
    """The project called ``name``; NotFound otherwise."""
    project = find(session, org_id, name)
    if project is None:
        raise NotFound(f"project {name!r} not found", hint="create it with `project create`")
    return project


def insert(session: Session, actor: Principal, name: str) -> Project:
    """Create without a permission check; Conflict if it exists (even if a concurrent request
    created it a moment ago)."""
    project, created = _insert(session, actor, name)
    if not created:
        raise Conflict(f"project {name!r} already exists")
    return project


def ensure(session: Session, actor: Principal, name: str) -> Project:
    """The project ``name``, created if missing (implicit creation on first use): concurrent
    first uses all get the one row (db/inserts.py)."""
    return find(session, actor.org_id, name) or _insert(session, actor, name)[0]


def _insert(session: Session, actor: Principal, name: str) -> tuple[Project, bool]:
    check_name("project", name)
    created = insert_if_absent(session, Project, org_id=actor.org_id, name=name)
    project = get(session, actor.org_id, name)
    if created:
        audit.record(session, actor.org_id, actor, "project.create", project.id, name=name)
    return project, created


def create(session: Session, actor: Principal, name: str) -> Project:
    """A new project (owner/admin); Conflict if it exists."""
    actor.require_admin()
    return insert(session, actor, name)


def list_page(
    session: Session, actor: Principal, limit: int, cursor: str | None, *, blocked: bool = False
) -> tuple[list[Project], str | None]:
    """Projects by name (only the blocked ones with ``blocked``; a person holding project
    roles sees those projects only)."""
    actor.require_reader()
    stmt = select(Project).where(Project.org_id == actor.org_id).order_by(Project.name)
    stmt = visibility.narrow(stmt, actor, Project.id)
    if blocked:
        stmt = stmt.where(Project.blocked.is_(True))
    return pagination.page(session, stmt, limit, cursor)


def describe(session: Session, actor: Principal, name: str) -> Project:
    """One project (any reader who may see it)."""
    actor.require_reader()
    return visibility.project(session, actor, name, "read")


def block(
    session: Session, actor: Principal, name: str, reason: str, now: datetime | None = None
) -> Project:
    """Stop every workflow of the project (owner/admin, or its project admin): new runs and
    pending pushes."""
    project = visibility.project(session, actor, name, "admin")
    blocks.block(project, actor, reason, now)
    audit.record(session, actor.org_id, actor, "project.block", project.id, reason=reason)
    return project


def unblock(session: Session, actor: Principal, name: str, reason: str | None = None) -> Project:
    """Lift the project's block (owner/admin, or its project admin; workflows blocked on
    their own stay blocked)."""
    project = visibility.project(session, actor, name, "admin")
    lifted = blocks.unblock(project)
    audit.record(
        session, actor.org_id, actor, "project.unblock", project.id, reason=reason, lifted=lifted
    )
    return project


def rename(
    session: Session, actor: Principal, name: str, to: str, now: datetime | None = None
) -> Project:
    """Rename (owner/admin); Conflict when taken or while one of its runs is in progress."""
    actor.require_admin()
    check_name("project", to)
    project = get(session, actor.org_id, name)
    if to != name and find(session, actor.org_id, to) is not None:
        raise Conflict(f"project {to!r} already exists", hint="choose another name")
    ids = list(session.scalars(select(Workflow.id).where(Workflow.project_id == project.id)))
    running.refuse_rename(session, ids, f"project {name}", now)
    project.name = to
    session.flush()
    audit.record(session, actor.org_id, actor, "project.rename", project.id, old=name, new=to)
    return project


def view(project: Project) -> dict[str, Any]:
    """``{"id","name","created_at","blocked","block"}``."""
    return {
        "id": project.id,
        "name": project.name,
        "created_at": rfc3339(project.created_at),
        "blocked": project.blocked,
        "block": blocks.detail(project, scope="project"),
    }


def describe_view(session: Session, project: Project) -> dict[str, Any]:
    """The project with how many workflows it has, and how many are archived."""
    counts = dict(
        session.execute(
            select(Workflow.archived_at.is_not(None), func.count())
            .where(Workflow.project_id == project.id)
            .group_by(Workflow.archived_at.is_not(None))
        ).all()
    )
    active, archived = counts.get(False, 0), counts.get(True, 0)
    return {**view(project), "workflows": active + archived, "archived_workflows": archived}
