"""``/api/v1/tokens``: robot tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page, PersonalTokenIn, TokenIn, TokenOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import tokens
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=TokenOut)
def create_token(body: TokenIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Create a robot token; the secret is returned only here."""
    row, secret = tokens.create_robot_token(session, principal, **body.model_dump())
    return {**tokens.token_view(session, row), "token": secret}


@router.post("/personal", status_code=201, response_model=TokenOut)
def create_personal_token(
    body: PersonalTokenIn, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Create a token of the person acting, with their role or a lower one, expiring (every
    role; robots 403); the secret is returned only here."""
    row, secret = tokens.create_personal_token(session, principal, **body.model_dump())
    return {**tokens.token_view(session, row), "token": secret}


@router.get("/personal", response_model=list[TokenOut])
def list_personal_tokens(session: SessionDep, principal: PrincipalDep) -> Any:
    """The acting person's own tokens (no secrets)."""
    return [tokens.token_view(session, t) for t in tokens.list_personal(session, principal)]


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
    """Revoke a token (owner/admin, or a person their own); it stops working on the next
    request."""
    tokens.revoke(session, principal, token_id)
    return Response(status_code=204)
