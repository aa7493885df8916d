"""``/api/v1/projects``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page, ProjectIn, ProjectOut, VersionOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import project_members, projects, versions
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/projects", tags=["projects"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BlockIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class UnblockIn(_In):
    reason: str | None = Field(default=None, max_length=2000)


class RenameIn(_In):
    to: str = Field(min_length=1, max_length=100)


class ProjectDetail(ProjectOut):
    workflows: int
    archived_workflows: int


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
    blocked: bool = False,
) -> Any:
    """Projects by name; ``blocked=true`` only the blocked ones."""
    rows, nxt = projects.list_page(session, principal, limit, cursor, blocked=blocked)
    return pagination.items([projects.view(p) for p in rows], nxt)


@router.get("/{name}", response_model=ProjectDetail)
def get_project(name: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """One project, with its block and how many workflows it has."""
    return projects.describe_view(session, projects.describe(session, principal, name))


@router.post("/{name}/block", response_model=ProjectOut)
def block_project(name: str, body: BlockIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Block every workflow of the project, with a reason (owner/admin; 409 if blocked)."""
    return projects.view(projects.block(session, principal, name, body.reason))


@router.post("/{name}/unblock", response_model=ProjectOut)
def unblock_project(
    name: str, body: UnblockIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Lift the project's block (owner/admin; 409 if it has none)."""
    return projects.view(projects.unblock(session, principal, name, body.reason))


@router.post("/{name}/rename", response_model=ProjectOut)
def rename_project(name: str, body: RenameIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Rename (owner/admin; 409 if taken or while one of its runs is in progress)."""
    return projects.view(projects.rename(session, principal, name, body.to))


@router.get("/{name}/versions", response_model=Page)
def list_versions(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """The project's versions, newest first (keyset pages): prerelease or released (when,
    by whom), how many runs, and compliance (the share of finished runs that succeeded
    with no policy violation)."""
    rows, nxt = versions.list_page(session, principal, name, limit, cursor)
    return pagination.items(versions.views(session, rows), nxt)


# ``:path``: a version may hold a ``/`` (``release/2.0``); the client sends it escaped.
@router.post("/{name}/versions/{version:path}/release", response_model=VersionOut)
def release_version(name: str, version: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """Release a version (owner/admin; 409 if it already is); audited."""
    row = versions.release(session, principal, name, version)
    return versions.views(session, [row])[0]


class ProjectMemberIn(_In):
    role: Literal["admin", "viewer"]


class ProjectMemberOut(BaseModel):
    user_id: str
    email: str | None
    name: str
    role: str
    created_at: str


@router.get("/{name}/members", response_model=list[ProjectMemberOut])
def list_project_members(name: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """Who holds a project role (admin, viewer) in the project (anyone who may read it)."""
    held = project_members.list_members(session, principal, name)
    return [project_members.view(m, u) for m, u in held]


@router.put("/{name}/members/{member}", response_model=ProjectMemberOut)
def set_project_member(
    name: str, member: str, body: ProjectMemberIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Give an organisation member (user id or email) a role in the project (owner/admin of
    the organisation; idempotent)."""
    return project_members.view(
        *project_members.set_member(session, principal, name, member, body.role)
    )


@router.delete("/{name}/members/{member}", status_code=204)
def remove_project_member(
    name: str, member: str, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Take a person's role in the project away (owner/admin of the organisation)."""
    project_members.remove_member(session, principal, name, member)
    return Response(status_code=204)
