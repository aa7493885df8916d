"""What a person holding project roles sees (docs/identity.md, "Project roles"): their
roles, and the clause that narrows a list to the projects they may see.

A member or viewer of the organisation who holds any project role sees only those projects;
everyone else sees every project (owners and admins whatever they hold; members and viewers
who hold none, so an organisation that never grants project roles works as before). Lists
narrow with one ``IN (SELECT project_id FROM project_memberships ...)`` clause on the rows'
project column (indexed on organisation and person): no check per row. What each role may do
is :data:`support.principal.PERMISSIONS`; ``Principal.require_in_project`` checks one project.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from chainproof.errors import NotFound
from chainproof.server.db import ContractRow, Project, ProjectMembership, Workflow
from chainproof.server.support.principal import Principal

S = TypeVar("S", bound=Select[*tuple[Any, ...]])
_RESTRICTABLE = frozenset({"member", "viewer"})


def roles_of(
    session: Session, org_id: str, user_id: str | None, org_role: str
) -> dict[str, str] | None:
    """A person's project roles when they restrict them (``Principal.project_roles``)."""
    if user_id is None or org_role not in _RESTRICTABLE:
        return None
    held = session.execute(
        select(ProjectMembership.project_id, ProjectMembership.role).where(
            ProjectMembership.org_id == org_id, ProjectMembership.user_id == user_id
        )
    )
    return {project_id: role for project_id, role in held} or None


def visible(actor: Principal, project_id: Any) -> ColumnElement[bool] | None:
    """The clause keeping rows whose ``project_id`` column the actor may see (None: all)."""
    if not actor.restricted:
        return None
    held = select(ProjectMembership.project_id).where(
        ProjectMembership.org_id == actor.org_id, ProjectMembership.user_id == actor.user_id
    )
    return project_id.in_(held)  # type: ignore[no-any-return]


def narrow(stmt: S, actor: Principal, project_id: Any) -> S:
    """``stmt`` kept to the projects the actor may see."""
    clause = visible(actor, project_id)
    return stmt if clause is None else stmt.where(clause)


def project(session: Session, actor: Principal, name: str, permission: str) -> Project:
    """The project ``name`` when the actor has ``permission`` there; NotFound when it is
    missing or hidden, Forbidden when the role falls short."""
    project = session.scalar(
        select(Project).where(Project.org_id == actor.org_id, Project.name == name)
    )
    if project is None:
        raise NotFound(f"project {name!r} not found", hint="see `chainproof project list`")
    actor.require_in_project(project.id, permission, f"project {name!r}")
    return project


def contracts_in_use(actor: Principal, contract_id: Any) -> ColumnElement[bool] | None:
    """The clause keeping contracts a workflow of the actor's projects uses (None: all)."""
    clause = visible(actor, Workflow.project_id)
    if clause is None:
        return None
    used = select(Workflow.contract_id).where(Workflow.org_id == actor.org_id, clause)
    return contract_id.in_(used)  # type: ignore[no-any-return]


def require_contract(session: Session, actor: Principal, contract: ContractRow) -> None:
    """NotFound when no workflow of the actor's projects uses ``contract``."""
    clause = contracts_in_use(actor, ContractRow.id)
    if clause is None:
        return
    if session.scalar(select(ContractRow.id).where(ContractRow.id == contract.id, clause)) is None:
        raise NotFound(f"contract {contract.name!r} not found")


def roles_view(session: Session, actor: Principal) -> dict[str, str] | None:
    """Project name → project role of a person who sees only those projects (None: all)."""
    if actor.project_roles is None:
        return None
    names = session.execute(
        select(Project.id, Project.name).where(Project.id.in_(list(actor.project_roles)))
    )
    return {name: actor.project_roles[pid] for pid, name in names}
