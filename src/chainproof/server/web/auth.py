"""The browser's session: a sealed cookie holding its secret, the organisation, and CSRF.

Signing in stores the secret a person or the embedded profile's owner already has (a sign-in
session from the identity provider, or an API token) in the ``cp_session`` cookie, sealed
under the server's key so the cookie alone shows nothing (``HttpOnly``, ``SameSite=Lax``,
``Secure`` over HTTPS). Each request resolves it to a :class:`Principal` exactly as the API
resolves a bearer secret, so the dashboard shows what the services allow and nothing more.

CSRF: every form carries ``csrf``, an HMAC under the server's key of a random ``cp_csrf``
cookie; a cross-site page can neither read that cookie nor compute the HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from chainproof.errors import Forbidden, ServiceError, Unauthorized
from chainproof.server.api.deps import SessionDep
from chainproof.server.services import signin, tokens
from chainproof.server.settings import Settings
from chainproof.server.support.principal import Principal
from chainproof.server.support.sealed import seal, server_secret, unseal
from chainproof.server.web.render import render

SESSION_COOKIE = "cp_session"
ORG_COOKIE = "cp_org"
CSRF_COOKIE = "cp_csrf"
_PURPOSE = b"chainproof dashboard session cookie v1"
_BOUND = "cp_session"
_R = TypeVar("_R", bound=Response)


@dataclass
class Web:
    """One page request: who is signed in (or None), and how to answer."""

    request: Request
    session: Session
    principal: Principal | None
    csrf: str
    orgs: list[dict[str, Any]] = field(default_factory=list)
    _new_csrf_cookie: str | None = None

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """``template`` with the principal, CSRF token and organisations in its context."""
        context.setdefault("principal", self.principal)
        answer = render(
            self.request, template, status=status, csrf=self.csrf, orgs=self.orgs, **context
        )
        return self.keep_csrf(answer)

    def redirect(self, url: str) -> RedirectResponse:
        """303 See Other to ``url`` (after a form: the browser GETs it)."""
        return self.keep_csrf(RedirectResponse(url, status_code=303))

    def check_csrf(self, token: str) -> None:
        """Forbidden unless ``token`` is this browser's CSRF token."""
        if not token or not hmac.compare_digest(token, self.csrf):
            raise Forbidden(
                "the form's security token is missing or stale",
                hint="reload the page and submit the form again",
            )

    def keep_csrf(self, answer: _R) -> _R:
        """``answer`` with the new CSRF cookie when this request made one."""
        if self._new_csrf_cookie:
            set_cookie(self.request, answer, CSRF_COOKIE, self._new_csrf_cookie)
        return answer


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or the public URL says so)."""
    settings: Settings = request.app.state.settings
    return request.url.scheme == "https" or (settings.public_url or "").startswith("https:")


def set_cookie(request: Request, answer: Response, name: str, value: str) -> None:
    """A session cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` over HTTPS."""
    answer.set_cookie(
        name, value, httponly=True, samesite="lax", secure=is_https(request), path="/"
    )


def sign_in(web: Web, answer: Response, secret: str) -> None:
    """Keep ``secret`` (sealed) in the browser's session cookie."""
    sealed = seal(server_secret(web.session), _PURPOSE, secret.encode(), _BOUND)
    set_cookie(web.request, answer, SESSION_COOKIE, base64.urlsafe_b64encode(sealed).decode())


def sign_out(answer: Response) -> None:
    """Forget the session and organisation cookies."""
    for name in (SESSION_COOKIE, ORG_COOKIE):
        answer.delete_cookie(name, path="/")


def cookie_secret(request: Request, session: Session) -> str | None:
    """The secret in the session cookie, or None (no cookie, or one that does not open)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        sealed = base64.urlsafe_b64decode(raw.encode())
        return unseal(server_secret(session), _PURPOSE, sealed, _BOUND, "session").decode()
    except (ValueError, ServiceError):  # damaged, or sealed under another server key
        return None


def resolve(session: Session, secret: str, org: str | None) -> tuple[Principal, list[Any]]:
    """The principal behind ``secret`` in ``org`` and the organisations it may switch to."""
    if signin.is_session_secret(secret):
        orgs = signin.describe(session, secret)["orgs"]
        names = [o["name"] for o in orgs]
        chosen = org if org in names else (names[0] if names else None)
        return signin.authenticate(session, secret, chosen), orgs
    principal = tokens.authenticate(session, secret)
    if principal.is_robot:
        raise Forbidden(
            "a robot token cannot sign in to the dashboard",
            hint="sign in with your own account or a personal API token",
        )
    return principal, [{"name": principal.org_name, "role": principal.role}]


def _csrf(request: Request, session: Session) -> tuple[str, str | None]:
    raw = request.cookies.get(CSRF_COOKIE)
    new = None
    if not raw:
        raw = new = secrets.token_urlsafe(24)
    key = hashlib.sha256(b"chainproof dashboard csrf v1|" + server_secret(session).encode())
    return hmac.new(key.digest(), raw.encode(), hashlib.sha256).hexdigest(), new


def anonymous(request: Request, session: SessionDep) -> Web:
    """A page anyone may see (sign-in): the principal when there is one, else None."""
    token, new = _csrf(request, session)
    secret = cookie_secret(request, session)
    principal: Principal | None = None
    orgs: list[Any] = []
    if secret:
        try:
            principal, orgs = resolve(session, secret, request.cookies.get(ORG_COOKIE))
        except (Unauthorized, Forbidden):
            principal, orgs = None, []
    return Web(request, session, principal, token, orgs, new)


def signed_in(request: Request, session: SessionDep) -> Web:
    """A page for the signed-in: Unauthorized (→ the sign-in page) without a live session."""
    token, new = _csrf(request, session)
    secret = cookie_secret(request, session)
    if not secret:
        raise Unauthorized("sign in to see this page")
    principal, orgs = resolve(session, secret, request.cookies.get(ORG_COOKIE))
    return Web(request, session, principal, token, orgs, new)


AnonymousDep = Annotated[Web, Depends(anonymous)]
SignedInDep = Annotated[Web, Depends(signed_in)]
