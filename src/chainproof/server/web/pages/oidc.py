"""Sign in with an identity provider in the browser: OAuth 2.0 authorization code flow with
PKCE (RFC 7636, S256) and an OIDC nonce, through authlib's client.

``/sign-in/oidc/{provider}`` sends the browser to the provider's authorization endpoint with
a fresh ``state``, ``nonce`` and code challenge; the verifier, state, nonce and where to go
afterwards wait in a short-lived sealed ``cp_oidc`` cookie (HttpOnly, SameSite=Lax: it comes
back on the provider's top-level redirect). The callback checks the state, redeems the code
with the verifier at the token endpoint (with the client secret when the provider has one, as
a public client otherwise), checks the nonce, and hands the ID token to the same exchange as
``POST /api/v1/auth/sessions`` (signature, issuer, audience, verified email, membership): the
person's session secret then goes into the session cookie.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import warnings
from typing import Any

import httpx
import jwt
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from chainproof.errors import Forbidden, NetworkError, NotFound, ServiceError, Unauthorized
from chainproof.server.identity_provider import IdentityProvider
from chainproof.server.services import signin
from chainproof.server.support.sealed import seal, server_secret, unseal
from chainproof.server.web import auth
from chainproof.server.web.auth import AnonymousDep, Web
from chainproof.server.web.pages.session import safe_next, sign_in_form
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FLOW_COOKIE = "cp_oidc"
FLOW_SECONDS = 600
SCOPE = "openid email profile"
_PURPOSE = b"chainproof dashboard oidc flow v1"
_TIMEOUT = 10.0


def _provider(request: Request, name: str) -> IdentityProvider:
    for provider in request.app.state.settings.identity_providers:
        if provider.name == name:
            return provider  # type: ignore[no-any-return]
    raise NotFound(
        f"no identity provider called {name!r} on this server",
        hint="pick one on the sign-in page, or sign in with an API token",
    )


def _redirect_uri(request: Request, provider: IdentityProvider) -> str:
    return f"{request.app.state.settings.base_url}/sign-in/oidc/{provider.name}/callback"


def _client(request: Request, provider: IdentityProvider) -> Any:
    # authlib 1.9 warns that it prefers the httpx2 package; httpx is what we ship. Its
    # deprecate module adds an "always" filter when first imported: import it before ours.
    import authlib.deprecate  # noqa: F401

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client

    secret = provider.client_secret.get_secret_value() if provider.client_secret else None
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=secret,
        scope=SCOPE,
        redirect_uri=_redirect_uri(request, provider),
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if secret else "none",
        timeout=_TIMEOUT,
    )


def _endpoints(oauth: Any, provider: IdentityProvider) -> dict[str, Any]:
    """The provider's discovery document (it must offer the authorization code flow)."""
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        reply = oauth.request("GET", url, withhold_token=True)
        meta = reply.json() if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        raise NetworkError(
            f"cannot reach identity provider {provider.name}: {exc}",
            hint="try again, or ask an operator whether the provider is up",
        ) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("authorization_endpoint"), str):
        raise ServiceError(
            f"identity provider {provider.name} offers no authorization code flow",
            hint="its discovery document lacks authorization_endpoint",
        )
    return meta


def _seal(web: Web, flow: dict[str, Any]) -> str:
    sealed = seal(server_secret(web.session), _PURPOSE, json.dumps(flow).encode(), FLOW_COOKIE)
    return base64.urlsafe_b64encode(sealed).decode()


def _unseal(web: Web) -> dict[str, Any] | None:
    raw = web.request.cookies.get(FLOW_COOKIE)
    if not raw:
        return None
    try:
        sealed = base64.urlsafe_b64decode(raw.encode())
        flow = json.loads(unseal(server_secret(web.session), _PURPOSE, sealed, FLOW_COOKIE, "x"))
    except (ValueError, ServiceError):
        return None
    return flow if isinstance(flow, dict) and flow.get("expires", 0) > time.time() else None


@router.get("/sign-in/oidc/{name}")
def start(web: AnonymousDep, name: str, next: str | None = None) -> RedirectResponse:
    """To the provider's authorization endpoint, with state, nonce and a PKCE challenge."""
    provider = _provider(web.request, name)
    flow = {
        "provider": provider.name,
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "next": safe_next(next),
        "expires": time.time() + FLOW_SECONDS,
    }
    with _client(web.request, provider) as oauth:
        endpoint = _endpoints(oauth, provider)["authorization_endpoint"]
        url, _ = oauth.create_authorization_url(
            endpoint, state=flow["state"], code_verifier=flow["verifier"], nonce=flow["nonce"]
        )
    answer = web.redirect(url)
    answer.set_cookie(
        FLOW_COOKIE,
        _seal(web, flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=auth.is_https(web.request),
        path="/sign-in/oidc",
    )
    return answer


@router.get("/sign-in/oidc/{name}/callback", response_model=None)
def callback(
    web: AnonymousDep,
    name: str,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> HTMLResponse | RedirectResponse:
    """Check the state, redeem the code with the verifier, exchange the ID token for a
    session, and go where the person was going."""
    provider = _provider(web.request, name)
    flow = _unseal(web)
    target = flow["next"] if flow else "/"
    if error:
        said = f"{error}" + (f": {error_description}" if error_description else "")
        return _refused(web, target, f"{provider.name} did not sign you in ({said}).")
    if (
        flow is None
        or flow.get("provider") != provider.name
        or not state
        or not secrets.compare_digest(str(flow.get("state")), state)
        or not code
    ):
        return _refused(web, target, "That sign-in link is stale or was not started here.")
    try:
        id_token = _redeem(web.request, provider, code, flow["verifier"])
        _check_nonce(id_token, flow["nonce"])
        settings = web.request.app.state.settings
        _, secret, _, _ = signin.exchange(
            web.session,
            web.request.app.state.oidc_keys,
            settings.identity_providers,
            id_token=id_token,
            lifetime_seconds=settings.session_seconds,
        )
    except (Unauthorized, Forbidden) as refused:
        return _refused(web, target, refused.message + (f" {refused.hint}" if refused.hint else ""))
    answer = web.redirect(safe_next(target))
    auth.sign_in(web, answer, secret)
    answer.delete_cookie(auth.ORG_COOKIE, path="/")
    _forget(answer)
    return answer


def _redeem(request: Request, provider: IdentityProvider, code: str, verifier: str) -> str:
    """The ID token the token endpoint gives for ``code`` and the PKCE ``verifier``."""
    from authlib.integrations.base_client.errors import OAuthError

    with _client(request, provider) as oauth:
        token_endpoint = _endpoints(oauth, provider).get("token_endpoint")
        try:
            token = oauth.fetch_token(token_endpoint, code=code, code_verifier=verifier)
        except OAuthError as err:
            raise Unauthorized(
                f"{provider.name} refused the sign-in code: {err.error}", hint="sign in again"
            ) from None
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach identity provider {provider.name}: {exc}") from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise Unauthorized(f"{provider.name} returned no ID token", hint="sign in again")
    return id_token


def _check_nonce(id_token: str, nonce: str) -> None:
    """The ID token answers this browser's request (the exchange then checks its signature)."""
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthorized("the ID token is not a JWT", hint="sign in again") from None
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise Unauthorized("the ID token was not issued for this sign-in", hint="sign in again")


def _refused(web: Web, target: str, message: str) -> HTMLResponse:
    answer = sign_in_form(web, target, error=message)
    _forget(answer)
    return answer


def _forget(answer: Response) -> None:
    answer.delete_cookie(FLOW_COOKIE, path="/sign-in/oidc")
