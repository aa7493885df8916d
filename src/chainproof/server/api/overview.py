"""``/api/v1/overview``: the organisation at a glance (owners, admins and viewers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.services import overview as overview_service

router = APIRouter(prefix="/overview", tags=["overview"])


@router.get("")
def get_overview(session: SessionDep, principal: PrincipalDep, project: str | None = None) -> Any:
    """Per project and workflow: owner, contract and newest revision, last run, compliance
    over the last runs, lagging/failing/unmanaged/blocked; organisation totals. Answered
    from per-workflow summaries kept as runs arrive (no scan of the runs)."""
    # A plain JSONResponse: thousands of workflows need no response-model validation.
    return JSONResponse(overview_service.overview(session, principal, project=project))
