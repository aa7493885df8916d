"""``/workflows``: the organisation's workflows (filters, keyset pages), one workflow's page,
and its block and unblock forms (owners and admins; the service refuses anyone else)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from chainproof.server.services import dashboard, workflow_lifecycle
from chainproof.server.services import overview as overview_service
from chainproof.server.web.auth import SignedInDep
from chainproof.server.web.charts import sparkline
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50


@router.get("/workflows")
def workflow_list(
    web: SignedInDep,
    project: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
) -> HTMLResponse:
    """A page of workflows by project and name, narrowed to a project and a standing."""
    assert web.principal is not None
    project, status = project or None, status or None
    answer = overview_service.overview(
        web.session,
        web.principal,
        project=project,
        status=status,
        limit=limit,
        cursor=cursor,
        with_totals=False,
    )
    rows = [
        {**wf, "project": p["name"], "spark": sparkline(wf["recent"], chart_id=f"s-{wf['id']}")}
        for p in answer["projects"]
        for wf in p["workflows"]
    ]
    given = (("project", project), ("status", status), ("limit", limit != PAGE_SIZE and limit))
    filters = {k: str(v) for k, v in given if v}
    next_url = None
    if answer["next_cursor"]:
        next_url = "/workflows?" + urlencode({**filters, "cursor": answer["next_cursor"]})
    return web.render(
        "workflows.html",
        rows=rows,
        project=project or "",
        wanted=status or "",
        statuses=overview_service.STATUSES,
        filtered=bool(filters),
        next_url=next_url,
        first_url=("/workflows?" + urlencode(filters)) if cursor else None,
    )


@router.get("/workflows/{workflow_id}")
def workflow_page(web: SignedInDep, workflow_id: str) -> HTMLResponse:
    """One workflow: owner, project, contract, last run, recent runs, open findings."""
    assert web.principal is not None
    wf = dashboard.workflow_detail(web.session, web.principal, workflow_id)
    return web.render(
        "workflow.html",
        wf=wf,
        spark=sparkline(wf["recent"], chart_id="recent-runs"),
        may_block=wf["may_administer"],
        server_url=web.request.app.state.settings.base_url,
    )


@router.post("/workflows/{workflow_id}/block")
def block(
    web: SignedInDep,
    workflow_id: str,
    reason: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> RedirectResponse:
    """Block the workflow with ``reason`` (the service the API's block route calls)."""
    web.check_csrf(csrf)
    assert web.principal is not None
    wf = dashboard.workflow_detail(web.session, web.principal, workflow_id)
    workflow_lifecycle.block(web.session, web.principal, wf["project"], wf["name"], reason)
    return web.redirect(f"/workflows/{workflow_id}")


@router.post("/workflows/{workflow_id}/unblock")
def unblock(
    web: SignedInDep,
    workflow_id: str,
    csrf: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Lift the workflow's own block, with an optional reason for the audit log."""
    web.check_csrf(csrf)
    assert web.principal is not None
    wf = dashboard.workflow_detail(web.session, web.principal, workflow_id)
    workflow_lifecycle.unblock(
        web.session, web.principal, wf["project"], wf["name"], reason.strip() or None
    )
    return web.redirect(f"/workflows/{workflow_id}")
