"""``/audit``: the organisation's audit log (owners and admins; ``services/audit.py``
refuses everyone else, and the navigation shows the page to them only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from chainproof.errors import InvalidInput
from chainproof.server.services import audit
from chainproof.server.web.auth import SignedInDep
from chainproof.server.web.present import page_url, pretty_json
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/audit")
def audit_log(
    web: SignedInDep,
    actor: str = "",
    resource: str = "",
    action: str = "",
    since: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Events newest first, filtered as ``audit list`` filters them."""
    assert web.principal is not None
    filters = {"actor": actor.strip(), "resource": resource.strip()}
    filters |= {"action": action.strip(), "since": since.strip()}
    error: InvalidInput | None = None
    try:
        rows, nxt = audit.list_page(
            web.session,
            web.principal,
            actor_name=filters["actor"] or None,
            resource=filters["resource"] or None,
            action=filters["action"] or None,
            since=filters["since"] or None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    except InvalidInput as err:
        rows, nxt, error = [], None, err
    events = audit.views(web.session, rows)
    for event in events:
        event["data_text"] = pretty_json(event["data"]) if event["data"] else ""
    return web.render(
        "audit.html",
        status=400 if error else 200,
        events=events,
        filters=filters,
        next_url=page_url("/audit", {**filters, "cursor": nxt}) if nxt else None,
        first_url=page_url("/audit", filters) if cursor else None,
        error=error,
    )
