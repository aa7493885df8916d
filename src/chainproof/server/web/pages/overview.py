"""``/``: the organisation at a glance — totals, compliance per project, runs per day, open
findings by kind, the most recent policy violations (each figure from a service)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from chainproof.server.services import dashboard
from chainproof.server.services import overview as overview_service
from chainproof.server.web.auth import SignedInDep
from chainproof.server.web.charts import Day, runs_chart
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: The totals shown as tiles, in order, and the /workflows filter each one links to.
TILES = ("integrated", "compliant", "lagging", "failing", "unmanaged", "blocked")


@router.get("/")
def overview(web: SignedInDep) -> HTMLResponse:
    """The overview page of the organisation the browser acts in."""
    assert web.principal is not None
    session, actor = web.session, web.principal
    projects = overview_service.by_project(session, actor)
    totals = {name: sum(p[name] for p in projects) for name in overview_service.TOTALS}
    days = [Day(**d) for d in dashboard.runs_per_day(session, actor)]
    return web.render(
        "overview.html",
        totals=totals,
        tiles=TILES,
        projects=projects,
        days=days,
        chart=runs_chart(days),
        findings=dashboard.findings_by_kind(session, actor),
        violations=dashboard.recent_violations(session, actor),
    )
