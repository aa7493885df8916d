"""``/api/v1/findings``: drift findings, and a workflow's set cadence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import findings
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, tags=["findings"])


class FindingOut(BaseModel):
    id: str
    kind: str
    severity: str
    status: str
    workflow: str
    project: str | None
    owner: str | None
    opened_at: str | None
    closed_at: str | None
    evidence: list[str]
    details: dict[str, Any]
    acknowledged_at: str | None
    acknowledged_by: str | None
    acknowledged_reason: str | None


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=findings.MAX_REASON)


class CadenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Seconds a workflow may go without a run; null: learn it from its runs.
    cadence_seconds: int | None


class CadenceOut(BaseModel):
    project: str
    workflow: str
    cadence_seconds: int | None


@router.get("/findings", response_model=Page)
def list_findings(
    session: SessionDep,
    principal: PrincipalDep,
    kind: str | None = None,
    workflow: str | None = None,
    project: str | None = None,
    status: str = "open",
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Findings, newest first; ``status`` is open (default), closed or all."""
    rows, nxt = findings.list_page(
        session,
        principal,
        kind=kind,
        workflow=workflow,
        project=project,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return pagination.items([findings.view(session, f) for f in rows], nxt)


@router.post("/findings/{finding_id}/acknowledge", response_model=FindingOut)
def acknowledge_finding(
    finding_id: str, body: AcknowledgeIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Accept an open finding with a reason (owners and admins; audited)."""
    finding = findings.acknowledge(session, principal, finding_id, body.reason)
    return findings.view(session, finding)


@router.put("/workflows/{project}/{name}/cadence", response_model=CadenceOut)
def set_cadence(
    project: str, name: str, body: CadenceIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Set how long the workflow may go without a run before it is ``stopped``."""
    wf = findings.set_cadence(session, principal, project, name, body.cadence_seconds)
    return {"project": project, "workflow": wf.name, "cadence_seconds": wf.cadence_seconds}
