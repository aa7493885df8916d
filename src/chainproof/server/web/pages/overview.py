"""``/``: the organisation at a glance."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from chainproof.server.services import overview as overview_service
from chainproof.server.web.auth import SignedInDep
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def overview(web: SignedInDep) -> HTMLResponse:
    """Totals of the organisation (skeleton: the full page is issue 18's first part)."""
    assert web.principal is not None
    answer = overview_service.overview(web.session, web.principal, limit=1)
    return web.render("overview.html", totals=answer["totals"])
