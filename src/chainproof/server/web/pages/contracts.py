"""``/contracts``: contracts, their revisions, the difference between two revisions, and
how far the workflows on a contract have adopted its newest revision.

Contracts and revisions are ``services/contracts.py``; the changes between revisions and the
rollout are ``services/requirements.py`` (what ``workflow contract describe --diff`` and
``workflow contract rollout`` show); the side-by-side text is :func:`present.side_by_side`.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from chainproof.server.services import contracts, requirements
from chainproof.server.web.auth import SignedInDep
from chainproof.server.web.present import page_url, side_by_side
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50


@router.get("/contracts")
def contract_list(web: SignedInDep, cursor: str = "") -> HTMLResponse:
    """Contracts by name with their newest revision."""
    assert web.principal is not None
    rows, nxt = contracts.list_page(web.session, web.principal, PAGE_SIZE, cursor or None)
    items = [contracts.view(r, contracts.revision(web.session, r)) for r in rows]
    return web.render(
        "contracts.html",
        contracts=items,
        next_url=page_url("/contracts", {"cursor": nxt}) if nxt else None,
    )


@router.get("/contracts/{name}")
def contract_page(name: str, web: SignedInDep, revision: int | None = None) -> HTMLResponse:
    """A contract at a revision (default: the newest) and the list of its revisions."""
    assert web.principal is not None
    web.principal.require_reader()
    row = contracts.get(web.session, web.principal.org_id, name)
    shown = contracts.view(row, contracts.revision(web.session, row, revision))
    revisions = [
        contracts.view(row, contracts.revision(web.session, row, number))
        for number in range(row.latest_revision, 0, -1)
    ]
    return web.render("contracts_detail.html", contract=shown, revisions=revisions)


@router.get("/contracts/{name}/diff")
def contract_diff(
    name: str,
    web: SignedInDep,
    from_: int | None = Query(None, alias="from"),
    to: int | None = None,
) -> HTMLResponse:
    """What changed from revision ``from`` (default ``to - 1``) to ``to`` (default the
    newest): the changes in words, and both revisions side by side."""
    assert web.principal is not None
    changes = requirements.revision_diff(web.session, web.principal, name, from_, to)
    row = contracts.get(web.session, web.principal.org_id, name)
    before = contracts.revision(web.session, row, changes["from"])
    after = contracts.revision(web.session, row, changes["to"])
    return web.render(
        "contracts_diff.html",
        diff=changes,
        rows=side_by_side(before.raw, after.raw),
        revisions=range(1, row.latest_revision + 1),
    )


@router.get("/contracts/{name}/rollout")
def contract_rollout(name: str, web: SignedInDep) -> HTMLResponse:
    """Which workflows comply with which revision; laggards first, longest lag first."""
    assert web.principal is not None
    rollout = requirements.rollout(web.session, web.principal, name)
    return web.render("contracts_rollout.html", rollout=rollout)
