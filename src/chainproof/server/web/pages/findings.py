"""``/findings``: drift findings with their filters, and acknowledging one with a reason.

The list and the acknowledgement are ``services/findings.py`` (what ``drift list`` and
``drift acknowledge`` call): owners and admins acknowledge; the form is shown to them only,
and the service refuses anyone else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from chainproof.core.drift import KINDS
from chainproof.errors import InvalidInput
from chainproof.server.services import findings
from chainproof.server.support.principal import ADMIN_ROLES
from chainproof.server.web.auth import SignedInDep
from chainproof.server.web.pages.session import safe_next
from chainproof.server.web.present import page_url
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25


@router.get("/findings")
def finding_list(
    web: SignedInDep,
    kind: str = "",
    state: str = "open",
    workflow: str = "",
    project: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Findings newest first: ``state`` is open (default), closed or all."""
    assert web.principal is not None
    filters = {"kind": kind.strip(), "state": state.strip() or "open"}
    filters |= {"workflow": workflow.strip(), "project": project.strip()}
    error: InvalidInput | None = None
    try:
        rows, nxt = findings.list_page(
            web.session,
            web.principal,
            kind=filters["kind"] or None,
            status=filters["state"],
            workflow=filters["workflow"] or None,
            project=filters["project"] or None,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    except InvalidInput as err:
        rows, nxt, error = [], None, err
    here = page_url("/findings", {**filters, "cursor": cursor})
    return web.render(
        "findings.html",
        status=400 if error else 200,
        findings=[findings.view(web.session, f) for f in rows],
        filters=filters,
        kinds=KINDS,
        states=findings.STATUSES,
        may_acknowledge=web.principal.role in ADMIN_ROLES and not web.principal.is_robot,
        here=here,
        next_url=page_url("/findings", {**filters, "cursor": nxt}) if nxt else None,
        first_url=page_url("/findings", filters) if cursor else None,
        error=error,
    )


@router.post("/findings/{finding_id}/acknowledge")
def acknowledge(
    finding_id: str,
    web: SignedInDep,
    reason: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    back: Annotated[str, Form()] = "/findings",
) -> RedirectResponse:
    """Accept an open finding with a reason (owners and admins; audited), then go back to
    the list the form was on."""
    assert web.principal is not None
    web.check_csrf(csrf)
    findings.acknowledge(web.session, web.principal, finding_id, reason)
    return web.redirect(safe_next(back))
