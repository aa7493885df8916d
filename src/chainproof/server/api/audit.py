"""``/api/v1/audit``: the organisation's audit log (owners and admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import audit
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/audit", tags=["audit"])


@router.get("", response_model=Page)
def list_audit_events(
    session: SessionDep,
    principal: PrincipalDep,
    actor: str | None = Query(None, max_length=200),
    resource: str | None = Query(None, max_length=300),
    action: str | None = Query(None, max_length=100),
    since: str | None = Query(None, max_length=40),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Events newest first: ``actor`` (token name or id, or ``system``), ``resource`` (an
    id, project, ``project/workflow`` or contract name), ``action`` (``workflow.block`` or
    a family such as ``workflow``), ``since`` (``7d`` or an ISO date/time)."""
    rows, nxt = audit.list_page(
        session,
        principal,
        actor_name=actor,
        resource=resource,
        action=action,
        since=since,
        limit=limit,
        cursor=cursor,
    )
    return pagination.items(audit.views(session, rows), nxt)
