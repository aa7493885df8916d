"""Project roles held by people (docs/identity.md, "Project roles"): owners and admins of the
organisation give a member ``admin`` or ``viewer`` in a project, or take it away; anyone who
may read the project lists them. Audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.errors import InvalidInput, NotFound
from chainproof.server.db import Project, ProjectMembership, User
from chainproof.server.db.base import new_id, utcnow
from chainproof.server.db.inserts import insert_if_absent
from chainproof.server.services import audit, people, projects, visibility
from chainproof.server.support.principal import PROJECT_ROLES, Principal
from chainproof.server.support.times import rfc3339


def list_members(
    session: Session, actor: Principal, project: str
) -> list[tuple[ProjectMembership, User]]:
    """Who holds a role in ``project``, by email (anyone who may read the project)."""
    actor.require_reader()
    row = visibility.project(session, actor, project, "read")
    stmt = (
        select(ProjectMembership, User)
        .join(User, User.id == ProjectMembership.user_id)
        .where(ProjectMembership.project_id == row.id)
        .order_by(User.email, User.name)
    )
    return [(m, u) for m, u in session.execute(stmt)]


def set_member(
    session: Session, actor: Principal, project: str, member: str, role: str
) -> tuple[ProjectMembership, User]:
    """Give organisation member ``member`` (email or user id) ``role`` in ``project``
    (owners and admins of the organisation); idempotent."""
    actor.require_admin()
    if role not in PROJECT_ROLES:
        raise InvalidInput(f"unknown project role {role!r}", hint="use admin or viewer")
    row = projects.get(session, actor.org_id, project)
    _, user = people.find_member(session, actor.org_id, member)
    # Insert-or-get (db/inserts.py): two admins granting at once both succeed on one row.
    inserted = insert_if_absent(
        session, ProjectMembership, id=new_id(), org_id=actor.org_id, project_id=row.id,
        user_id=user.id, role=role, created_at=utcnow(),
    )  # fmt: skip
    held = _held(session, row, user)
    assert held is not None
    if not inserted and held.role == role:
        return held, user
    held.role = role
    session.flush()
    audit.record(
        session, actor.org_id, actor, "project.member.set", row.id, email=user.email,
        user=user.id, role=role,
    )  # fmt: skip
    return held, user


def remove_member(session: Session, actor: Principal, project: str, member: str) -> None:
    """Take ``member``'s role in ``project`` away (owners and admins of the organisation)."""
    actor.require_admin()
    row = projects.get(session, actor.org_id, project)
    _, user = people.find_member(session, actor.org_id, member)
    held = _held(session, row, user)
    if held is None:
        raise NotFound(
            f"{member!r} holds no role in project {project!r}",
            hint=f"see `chainproof project member list --project {project}`",
        )
    session.delete(held)
    audit.record(
        session, actor.org_id, actor, "project.member.remove", row.id, email=user.email,
        user=user.id, role=held.role,
    )  # fmt: skip


def view(held: ProjectMembership, user: User) -> dict[str, Any]:
    """``{"user_id","email","name","role","created_at"}``."""
    return {
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "role": held.role,
        "created_at": rfc3339(held.created_at),
    }


def _held(session: Session, project: Project, user: User) -> ProjectMembership | None:
    return session.scalar(
        select(ProjectMembership).where(
            ProjectMembership.project_id == project.id, ProjectMembership.user_id == user.id
        )
    )
