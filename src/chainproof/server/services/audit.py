"""The audit trail: one event per write, by whom, on what; read by owners and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, or_, select
from sqlalchemy.orm import Session

from chainproof.core.moments import point_in_time
from chainproof.errors import InvalidInput
from chainproof.server.db import (
    ApiToken,
    AuditEvent,
    ContractRow,
    Project,
    ProjectVersion,
    User,
    UserSession,
    Workflow,
)
from chainproof.server.db.base import utcnow
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

SYSTEM = "system"
"""The actor name of events no token caused (jobs, bootstrap)."""


def record(
    session: Session,
    org_id: str,
    actor: Principal | None,
    action: str,
    target: str | None = None,
    **data: Any,
) -> None:
    """Add an audit event to the current unit of work."""
    session.add(
        AuditEvent(
            org_id=org_id,
            actor_token_id=actor.actor_id if actor else None,
            action=action,
            target=target,
            data=data,
        )
    )


def record_many(
    session: Session, events: list[tuple[str, str, str | None, dict[str, Any]]]
) -> None:
    """Insert system events ``(org_id, action, target, data)`` in one statement (a batch's
    events, that :func:`record` would add one by one)."""
    if events:
        at = utcnow()
        rows = [
            dict(org_id=org_id, actor_token_id=None, action=action, target=target, data=data, at=at)
            for org_id, action, target, data in events
        ]
        session.execute(insert(AuditEvent), rows)


def list_page(
    session: Session,
    actor: Principal,
    *,
    actor_name: str | None = None,
    resource: str | None = None,
    action: str | None = None,
    since: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    now: datetime | None = None,
) -> tuple[list[AuditEvent], str | None]:
    """The organisation's events, newest first (owner/admin).

    ``actor_name``: a token's name or id, or ``system``. ``resource``: an id, a project
    name, ``project/workflow`` or a contract name. ``action``: exact (``workflow.block``)
    or a family without a dot (``workflow``). ``since``: a duration back from ``now``
    (``90m``, ``12h``, ``7d``, ``2w``) or an ISO date or date-time.
    """
    actor.require_admin()
    stmt = select(AuditEvent).where(AuditEvent.org_id == actor.org_id)
    if actor_name:
        stmt = _by_actor(stmt, actor.org_id, actor_name)
    if resource:
        stmt = stmt.where(AuditEvent.target.in_(_targets(session, actor.org_id, resource)))
    if action:
        exact = AuditEvent.action == action
        family = AuditEvent.action.like(f"{action}.%")
        stmt = stmt.where(exact if "." in action else or_(exact, family))
    if since:
        stmt = stmt.where(AuditEvent.at >= parse_since(since, now or utcnow()))
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return pagination.page(session, stmt, limit, cursor)


def parse_since(text: str, now: datetime) -> datetime:
    """``7d`` (back from ``now``), ``2026-12-01`` or ``2026-12-01T10:00:00Z``; InvalidInput
    otherwise. Dates and zone-less times are UTC."""
    try:
        return point_in_time(text, now)
    except ValueError:
        raise InvalidInput(
            f"--since {text!r} is neither a duration nor a date",
            hint="use e.g. 90m, 12h, 7d, 2w, 2026-12-01 or 2026-12-01T10:00:00Z",
        ) from None


def _by_actor(stmt: Select[Any], org_id: str, name: str) -> Select[Any]:
    if name == SYSTEM:
        return stmt.where(AuditEvent.actor_token_id.is_(None))
    tokens = select(ApiToken.id).where(
        ApiToken.org_id == org_id, or_(ApiToken.name == name, ApiToken.id == name)
    )
    return stmt.where(AuditEvent.actor_token_id.in_(tokens))


def _targets(session: Session, org_id: str, resource: str) -> set[str]:
    """The ids ``resource`` may stand for: itself, and what it names (a project version is
    ``project@version``: project names hold no ``@``, versions may hold a ``/``)."""
    ids = {resource}
    name, at, version = resource.partition("@")
    if at:
        ids.update(
            session.scalars(
                select(ProjectVersion.id)
                .join(Project, Project.id == ProjectVersion.project_id)
                .where(
                    Project.org_id == org_id,
                    Project.name == name,
                    ProjectVersion.version == version,
                )
            )
        )
        return ids
    project, _, workflow = resource.partition("/")
    if workflow:
        ids.update(
            session.scalars(
                select(Workflow.id)
                .join(Project, Project.id == Workflow.project_id)
                .where(Project.org_id == org_id, Project.name == project, Workflow.name == workflow)
            )
        )
        return ids
    for model in (Project, ContractRow):
        ids.update(
            session.scalars(select(model.id).where(model.org_id == org_id, model.name == resource))
        )
    return ids


def views(session: Session, events: list[AuditEvent]) -> list[dict[str, Any]]:
    """Event JSON per docs/api.md, with actor names and readable resource names."""
    token_ids = {e.actor_token_id for e in events if e.actor_token_id}
    tokens = {
        row.id: (row.name, row.kind)
        for row in session.execute(
            select(ApiToken.id, ApiToken.name, ApiToken.kind).where(ApiToken.id.in_(token_ids))
        )
    }
    tokens.update(_session_actors(session, token_ids - tokens.keys()))
    tokens.update(_deleted_ci_tokens(session, token_ids - tokens.keys()))
    names = _resource_names(session, {e.target for e in events if e.target})
    out = []
    for event in events:
        name, kind = tokens.get(event.actor_token_id or "", (None, None))
        out.append(
            {
                "id": event.id,
                "at": rfc3339(event.at),
                "actor": name if event.actor_token_id else SYSTEM,
                "actor_id": event.actor_token_id,
                "actor_kind": kind if event.actor_token_id else SYSTEM,
                "action": event.action,
                "resource": event.target,
                "resource_name": names.get(event.target or ""),
                "data": event.data or {},
            }
        )
    return out


def _deleted_ci_tokens(session: Session, ids: set[str]) -> dict[str, tuple[str, str]]:
    """Exchanged CI tokens the expiry job deleted: named by their exchange's event."""
    if not ids:
        return {}
    stmt = select(AuditEvent.target, AuditEvent.data).where(
        AuditEvent.action == "ci_identity.exchange", AuditEvent.target.in_(ids)
    )
    return {
        target: (f"ci-identity {(data or {}).get('name')}", "robot")
        for target, data in session.execute(stmt)
        if target
    }


def _session_actors(session: Session, ids: set[str]) -> dict[str, tuple[str, str]]:
    """Sign-in sessions among the actors: named by their person's email."""
    if not ids:
        return {}
    rows = session.execute(
        select(UserSession.id, User.email, User.name)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id.in_(ids))
    )
    return {row.id: (row.email or row.name, "person") for row in rows}


def _resource_names(session: Session, ids: set[str]) -> dict[str, str]:
    """``project/workflow``, ``project``, ``project@version`` or ``contract <name>`` for the
    ids that are one."""
    if not ids:
        return {}
    names: dict[str, str] = {}
    workflows = session.execute(
        select(Workflow.id, Project.name, Workflow.name)
        .join(Project, Project.id == Workflow.project_id)
        .where(Workflow.id.in_(ids))
    )
    names.update({wf_id: f"{p}/{w}" for wf_id, p, w in workflows})
    projects = session.execute(select(Project.id, Project.name).where(Project.id.in_(ids)))
    names.update({p_id: name for p_id, name in projects})
    contracts = session.execute(
        select(ContractRow.id, ContractRow.name).where(ContractRow.id.in_(ids))
    )
    names.update({c_id: f"contract {name}" for c_id, name in contracts})
    versions = session.execute(
        select(ProjectVersion.id, Project.name, ProjectVersion.version)
        .join(Project, Project.id == ProjectVersion.project_id)
        .where(ProjectVersion.id.in_(ids))
    )
    names.update({v_id: f"{p}@{v}" for v_id, p, v in versions})
    return names
