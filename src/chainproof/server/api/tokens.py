"""``/api/v1/tokens``: robot tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page, TokenIn, TokenOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import tokens
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=TokenOut)
def create_token(body: TokenIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Create a robot token; the secret is returned only here."""
    row, secret = tokens.create_robot_token(session, principal, **body.model_dump())
    return {**tokens.token_view(session, row), "token": secret}


@router.get("", response_model=Page)
def list_tokens(
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Tokens of the organisation (no secrets)."""
    rows, nxt = tokens.list_page(session, principal, limit, cursor)
    return pagination.items([tokens.token_view(session, t) for t in rows], nxt)


@router.delete("/{token_id}", status_code=204)
def revoke_token(token_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Revoke a token; it stops working on the next request."""
    tokens.revoke(session, principal, token_id)
    return Response(status_code=204)
