"""``/api/v1/projects``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page, ProjectIn, ProjectOut
from chainproof.server.services import projects
from chainproof.server.support import pagination

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post("", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Create a project; 409 if it exists."""
    return projects.view(projects.create(session, principal, body.name))


@router.get("", response_model=Page)
def list_projects(
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Projects by name."""
    rows, nxt = projects.list_page(session, principal, limit, cursor)
    return pagination.items([projects.view(p) for p in rows], nxt)
