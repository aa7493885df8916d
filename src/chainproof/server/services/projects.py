"""Projects and their versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, NotFound
from chainproof.server.db import Project, ProjectVersion
from chainproof.server.services import audit
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
    """Create without a permission check (implicit creation at run init uses it too)."""
    check_name("project", name)
    if find(session, actor.org_id, name) is not None:
        raise Conflict(f"project {name!r} already exists")
    project = Project(org_id=actor.org_id, name=name)
    session.add(project)
    session.flush()
    audit.record(session, actor.org_id, actor, "project.create", project.id, name=name)
    return project


def create(session: Session, actor: Principal, name: str) -> Project:
    """A new project (owner/admin); Conflict if it exists."""
    actor.require_admin()
    return insert(session, actor, name)


def list_page(
    session: Session, actor: Principal, limit: int, cursor: str | None
) -> tuple[list[Project], str | None]:
    """Projects by name."""
    actor.require_reader()
    stmt = select(Project).where(Project.org_id == actor.org_id).order_by(Project.name)
    return pagination.page(session, stmt, limit, cursor)


def version(session: Session, actor: Principal, project: Project, name: str) -> ProjectVersion:
    """The project's version ``name``, created on first use."""
    row = session.scalar(
        select(ProjectVersion).where(
            ProjectVersion.project_id == project.id, ProjectVersion.version == name
        )
    )
    if row is None:
        if not name or len(name) > 200:
            raise NotFound("invalid project version")
        row = ProjectVersion(project_id=project.id, version=name)
        session.add(row)
        session.flush()
        audit.record(session, actor.org_id, actor, "project_version.create", row.id, version=name)
    return row


def view(project: Project) -> dict[str, Any]:
    """``{"id","name","created_at"}``."""
    return {"id": project.id, "name": project.name, "created_at": rfc3339(project.created_at)}
