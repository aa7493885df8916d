"""``/api/v1/auth``: identity providers, and a person's sign-in session (docs/identity.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from chainproof.server.api.deps import SessionDep, SessionSecretDep, SettingsDep
from chainproof.server.api.schemas import ProviderOut, SessionIn, SessionInfo, SessionOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import signin
from chainproof.server.support.oidc import JwksCache

router = APIRouter(route_class=StrictJsonRoute, prefix="/auth", tags=["identity"])


@router.get("/providers", response_model=list[ProviderOut])
def list_providers(settings: SettingsDep) -> Any:
    """The identity providers people sign in with (no credentials needed; no secrets)."""
    return signin.provider_views(settings.identity_providers)


@router.post("/sessions", status_code=201, response_model=SessionOut)
def create_session(
    body: SessionIn, request: Request, session: SessionDep, settings: SettingsDep
) -> Any:
    """A provider's ID token for a personal session (the ID token is the credential): 401
    when it is not a valid token of a configured provider, 403 without a verified email in
    an allowed domain or without any membership or invitation."""
    keys: JwksCache = request.app.state.oidc_keys
    row, secret, user, joined = signin.exchange(
        session,
        keys,
        settings.identity_providers,
        id_token=body.id_token,
        lifetime_seconds=settings.session_seconds,
    )
    return signin.session_view(row, secret, user, joined)


@router.get("/session", response_model=SessionInfo)
def describe_session(secret: SessionSecretDep, session: SessionDep) -> Any:
    """The signed-in person, the session's expiry and every organisation with its role."""
    return signin.describe(session, secret)


@router.delete("/session", status_code=204)
def sign_out(secret: SessionSecretDep, session: SessionDep) -> Response:
    """Revoke the session (sign out)."""
    signin.sign_out(session, secret)
    return Response(status_code=204)
