"""``/api/v1/overview``: the organisation at a glance (owners, admins and viewers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import overview as overview_service

router = APIRouter(route_class=StrictJsonRoute, prefix="/overview", tags=["overview"])


@router.get("")
def get_overview(
    session: SessionDep,
    principal: PrincipalDep,
    project: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Organisation (or ``project``) totals, and a page of workflows by project and name:
    owner, contract and newest revision, last run, compliance over the last runs,
    lagging/failing/unmanaged/blocked. Answered from per-workflow summaries kept as runs
    arrive (no scan of the runs)."""
    answer = overview_service.overview(
        session, principal, project=project, limit=limit, cursor=cursor
    )
    return JSONResponse(answer)  # no response-model validation of hundreds of workflows
