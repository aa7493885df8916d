"""Workflows: named within a project, pointing at a contract, optionally blocked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, NotFound
from chainproof.server.db import ContractRow, Project, Workflow
from chainproof.server.db.inserts import insert_if_absent
from chainproof.server.services import audit, blocks, contracts, orgs, projects, visibility
from chainproof.server.services.orgs import check_name
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339


def find(session: Session, project: Project, name: str) -> Workflow | None:
    """The workflow ``name`` of ``project``, if any."""
    return session.scalar(
        select(Workflow).where(Workflow.project_id == project.id, Workflow.name == name)
    )


def insert(
    session: Session,
    actor: Principal,
    project: Project,
    name: str,
    *,
    contract: ContractRow | None = None,
    team: str | None = None,
    description: str | None = None,
) -> Workflow:
    """Create without a permission check; an empty contract ``<project>-<name>`` by default;
    Conflict if it exists (even if a concurrent request created it a moment ago)."""
    if find(session, project, name) is None:
        wf, created = _insert(session, actor, project, name, contract, team, description)
        if created:
            return wf
    raise Conflict(f"workflow {name!r} already exists in project {project.name!r}")


def ensure(
    session: Session, actor: Principal, project: Project, name: str, contract: ContractRow | None
) -> Workflow:
    """The workflow ``name``, created if missing (implicit creation at run init): concurrent
    first uses all get the one row (db/inserts.py)."""
    existing = find(session, project, name)
    return existing or _insert(session, actor, project, name, contract, None, None)[0]


def _insert(
    session: Session,
    actor: Principal,
    project: Project,
    name: str,
    contract: ContractRow | None,
    team: str | None,
    description: str | None,
) -> tuple[Workflow, bool]:
    check_name("workflow", name)
    if contract is None:
        contract = default_contract(session, actor.org_id)
    if contract is None:
        contract = contracts.ensure_empty(session, actor, f"{project.name}-{name}")
    created = insert_if_absent(
        session,
        Workflow,
        org_id=actor.org_id,
        project_id=project.id,
        name=name,
        team=team,
        description=description,
        contract_id=contract.id,
    )
    wf = find(session, project, name)
    assert wf is not None  # inserted now or by the concurrent request that won
    if created:
        audit.record(
            session, actor.org_id, actor, "workflow.create", wf.id, project=project.name, name=name
        )
    return wf, created


def create(
    session: Session,
    actor: Principal,
    *,
    name: str,
    project: str,
    team: str | None = None,
    description: str | None = None,
    contract: str | None = None,
) -> Workflow:
    """A new workflow (owner/admin, or the project's admin), creating its project if missing
    (owner/admin only), as ``attestation init`` does, unless the organisation disabled
    implicit creation."""
    actor.require_admin_somewhere()
    contract_row = contracts.get(session, actor.org_id, contract) if contract else None
    project_row = projects.find(session, actor.org_id, project)
    if project_row is not None:
        actor.require_in_project(project_row.id, "admin", f"project {project!r}")
    else:
        actor.require_admin()
        if not orgs.get_org(session, actor.org_id).allow_implicit_creation:
            raise NotFound(
                f"project {project!r} not found and this organisation disabled implicit creation",
                hint="create it first with `chainproof project create`",
            )
        project_row = projects.ensure(session, actor, project)
    return insert(
        session,
        actor,
        project_row,
        name,
        contract=contract_row,
        team=team,
        description=description,
    )


def default_contract(session: Session, org_id: str) -> ContractRow | None:
    """The contract the organisation attaches to implicitly created workflows, if any."""
    contract_id = orgs.get_org(session, org_id).default_contract_id
    return session.get(ContractRow, contract_id) if contract_id else None


def get(session: Session, actor: Principal, project: str, name: str) -> Workflow:
    """One workflow; NotFound if it or its project does not exist in this org, or the
    project is hidden from the caller."""
    project_row = projects.find(session, actor.org_id, project)
    wf = find(session, project_row, name) if project_row else None
    if wf is None or (actor.restricted and actor.role_in(wf.project_id) is None):
        raise NotFound(f"workflow {project}/{name} not found")
    if actor.is_robot:
        actor.check_scope(wf.project_id, wf.id)
    return wf


def for_admin(session: Session, actor: Principal, project: str, name: str) -> Workflow:
    """A workflow the caller administers: owner/admin, or its project's admin."""
    actor.require_admin_somewhere()
    wf = get(session, actor, project, name)
    actor.require_in_project(wf.project_id, "admin", f"workflow {project}/{name}")
    return wf


ARCHIVED = ("hide", "only", "all")


def list_page(
    session: Session,
    actor: Principal,
    project: str | None,
    limit: int,
    cursor: str | None,
    *,
    blocked: bool = False,
    archived: str = "hide",
) -> tuple[list[Workflow], str | None]:
    """Workflows by project and name; ``blocked`` keeps those blocked (by themselves or
    their project); ``archived`` hides archived workflows, shows ``only`` them or ``all``."""
    actor.require_reader()
    if archived not in ARCHIVED:
        raise InvalidInput(f"unknown archived filter {archived!r}", hint=", ".join(ARCHIVED))
    stmt = (
        select(Workflow)
        .join(Project, Project.id == Workflow.project_id)
        .where(Workflow.org_id == actor.org_id)
        .order_by(Project.name, Workflow.name)
    )
    stmt = visibility.narrow(stmt, actor, Workflow.project_id)
    if project:
        stmt = stmt.where(Project.name == project)
    if blocked:
        stmt = stmt.where(or_(Workflow.blocked.is_(True), Project.blocked.is_(True)))
    if archived == "hide":
        stmt = stmt.where(Workflow.archived_at.is_(None))
    elif archived == "only":
        stmt = stmt.where(Workflow.archived_at.is_not(None))
    return pagination.page(session, stmt, limit, cursor)


def update(
    session: Session,
    actor: Principal,
    project: str,
    name: str,
    *,
    team: str | None = None,
    description: str | None = None,
    contract: str | None = None,
    blocked: bool | None = None,
) -> Workflow:
    """Change team, description, contract or the ``blocked`` flag (owner/admin, or the
    project's admin)."""
    wf = for_admin(session, actor, project, name)
    changes: dict[str, Any] = {}
    if team is not None:
        wf.team = changes["team"] = team
    if description is not None:
        wf.description = changes["description"] = description
    if contract is not None:
        wf.contract_id = contracts.get(session, actor.org_id, contract).id
        changes["contract"] = contract
    if blocked is not None and blocked != wf.blocked:
        changes["blocked"] = blocked
        if blocked:
            blocks.mark(wf, actor, None)
        else:
            blocks.clear(wf)
    audit.record(session, actor.org_id, actor, "workflow.update", wf.id, **changes)
    return wf


def view(session: Session, wf: Workflow) -> dict[str, Any]:
    """Workflow JSON per docs/api.md."""
    project = session.get(Project, wf.project_id)
    contract = session.get(ContractRow, wf.contract_id)
    block = blocks.effective(session, wf)
    return {
        "id": wf.id,
        "name": wf.name,
        "project": project.name if project else None,
        "team": wf.team,
        "description": wf.description,
        "contract": contract.name if contract else None,
        # Blocked by itself or by its project; ``block`` says which, why, by whom, when.
        "blocked": block is not None,
        "block": block,
        "archived": wf.archived_at is not None,
        "archived_at": rfc3339(wf.archived_at),
        "created_at": rfc3339(wf.created_at),
    }
