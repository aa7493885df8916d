"""``/api/v1/workflows/{project}/{name}``: block, unblock, rename, archive, unarchive,
delete (owner/admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import WorkflowOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import workflow_lifecycle, workflows

router = APIRouter(route_class=StrictJsonRoute, prefix="/workflows", tags=["workflows"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BlockIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class UnblockIn(_In):
    reason: str | None = Field(default=None, max_length=2000)


class RenameIn(_In):
    to: str = Field(min_length=1, max_length=100)


@router.post("/{project}/{name}/block", response_model=WorkflowOut)
def block_workflow(
    project: str, name: str, body: BlockIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Refuse new runs and pushes of runs in progress, with a reason (409 if blocked)."""
    wf = workflow_lifecycle.block(session, principal, project, name, body.reason)
    return workflows.view(session, wf)


@router.post("/{project}/{name}/unblock", response_model=WorkflowOut)
def unblock_workflow(
    project: str, name: str, body: UnblockIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Lift the workflow's own block (409 if it has none)."""
    wf = workflow_lifecycle.unblock(session, principal, project, name, body.reason)
    return workflows.view(session, wf)


@router.post("/{project}/{name}/rename", response_model=WorkflowOut)
def rename_workflow(
    project: str, name: str, body: RenameIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Rename within the project (409 if taken or while a run is in progress)."""
    wf = workflow_lifecycle.rename(session, principal, project, name, body.to)
    return workflows.view(session, wf)


@router.post("/{project}/{name}/archive", response_model=WorkflowOut)
def archive_workflow(project: str, name: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """Hide from lists and refuse new runs; its runs are kept."""
    return workflows.view(session, workflow_lifecycle.archive(session, principal, project, name))


@router.post("/{project}/{name}/unarchive", response_model=WorkflowOut)
def unarchive_workflow(
    project: str, name: str, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Bring an archived workflow back."""
    wf = workflow_lifecycle.unarchive(session, principal, project, name)
    return workflows.view(session, wf)


@router.delete("/{project}/{name}", status_code=204)
def delete_workflow(
    project: str, name: str, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Delete a workflow that has no runs (409 otherwise: archive it)."""
    workflow_lifecycle.delete(session, principal, project, name)
    return Response(status_code=204)
