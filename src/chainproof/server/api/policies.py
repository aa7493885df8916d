"""``/api/v1/policies``: the organisation's stored policies and groups (and the built-ins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page, PolicyIn, PolicyOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import policies
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/policies", tags=["policies"])


@router.post("", status_code=201, response_model=PolicyOut)
def create_policy(
    body: PolicyIn, request: Request, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Store a Policy or PolicyGroup document (revision 1), named by its metadata.name. Its
    Rego is compiled first: a Rego error or a forbidden built-in is refused (422)."""
    engine = request.app.state.policy_limits.engine
    row, rev = policies.create(session, principal, body.document, engine=engine)
    return policies.view(principal.org_name, row, rev)


@router.put("/{name}", response_model=PolicyOut)
def update_policy(
    name: str, body: PolicyIn, request: Request, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Add revision N+1, or return the latest when the document's digest is unchanged; the
    new document's Rego is compiled first, as at create."""
    engine = request.app.state.policy_limits.engine
    row, rev = policies.update(session, principal, name, body.document, engine=engine)
    return policies.view(principal.org_name, row, rev)


@router.get("", response_model=Page)
def list_policies(
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    builtin: bool = Query(False, description="Include the built-in policies and groups."),
) -> Any:
    """Stored policies by name (latest revision, without the document text)."""
    items, nxt = policies.list_page(session, principal, limit, cursor, include_builtin=builtin)
    return pagination.items(items, nxt)


@router.get("/{name}", response_model=PolicyOut)
def get_policy(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    revision: int | None = Query(None, ge=1),
    digest: str | None = Query(None, description="sha256:<hex>: the revision with it."),
) -> Any:
    """A stored policy at ``revision`` or ``digest`` (default latest), or a built-in one."""
    return policies.get(session, principal, name, revision, digest)
