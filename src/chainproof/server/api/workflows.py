"""``/api/v1/workflows``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page, WorkflowIn, WorkflowOut, WorkflowPatch
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import workflows
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/workflows", tags=["workflows"])


@router.post("", status_code=201, response_model=WorkflowOut)
def create_workflow(body: WorkflowIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Create a workflow; its project too if missing (unless the org disabled implicit creation)."""
    wf = workflows.create(session, principal, **body.model_dump())
    return workflows.view(session, wf)


@router.get("", response_model=Page)
def list_workflows(
    session: SessionDep,
    principal: PrincipalDep,
    project: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    blocked: bool = False,
    archived: str = Query("hide", pattern="^(hide|only|all)$"),
) -> Any:
    """Workflows, optionally of one project; ``blocked=true`` only the blocked ones;
    archived ones are hidden unless ``archived=only`` or ``archived=all``."""
    rows, nxt = workflows.list_page(
        session, principal, project, limit, cursor, blocked=blocked, archived=archived
    )
    return pagination.items([workflows.view(session, w) for w in rows], nxt)


@router.get("/{project}/{name}", response_model=WorkflowOut)
def get_workflow(project: str, name: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """One workflow."""
    return workflows.view(session, workflows.get(session, principal, project, name))


@router.patch("/{project}/{name}", response_model=WorkflowOut)
def update_workflow(
    project: str, name: str, body: WorkflowPatch, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Change team, description, contract or the ``blocked`` flag."""
    wf = workflows.update(session, principal, project, name, **body.model_dump(exclude_unset=True))
    return workflows.view(session, wf)
