"""Sign in (an API token; identity providers' buttons), sign out, switch organisation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from chainproof.errors import InvalidInput, Unauthorized
from chainproof.server.services import signin
from chainproof.server.web import auth
from chainproof.server.web.auth import AnonymousDep, SignedInDep, Web
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/sign-in")
def sign_in_page(web: AnonymousDep, next: str | None = None) -> HTMLResponse:
    """The sign-in form: an API token, or one of the configured identity providers."""
    return sign_in_form(web, next)


def sign_in_form(web: Web, target: str | None, error: str | None = None) -> HTMLResponse:
    settings = web.request.app.state.settings
    return web.render(
        "sign_in.html",
        status=401 if error else 200,
        next=safe_next(target),
        providers=signin.provider_views(settings.identity_providers),
        error=error,
    )


@router.post("/sign-in", response_model=None)
def sign_in(
    web: AnonymousDep,
    token: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> HTMLResponse | RedirectResponse:
    """Check the token, keep it in the session cookie, and go where the user was going."""
    web.check_csrf(csrf)
    try:
        auth.resolve(web.session, token.strip(), None)
    except (Unauthorized, InvalidInput):
        return sign_in_form(web, next, error="That token was not accepted: check it and try again.")
    answer = web.redirect(safe_next(next))
    auth.sign_in(web, answer, token.strip())
    return answer


@router.post("/sign-out")
def sign_out(web: AnonymousDep, csrf: Annotated[str, Form()]) -> RedirectResponse:
    """Forget the browser's session (a person's sign-in session is revoked too)."""
    web.check_csrf(csrf)
    secret = auth.cookie_secret(web.request, web.session)
    if secret and signin.is_session_secret(secret):
        try:
            signin.sign_out(web.session, secret)
        except Unauthorized:
            pass  # already expired or revoked: nothing left to revoke
    answer = web.redirect("/sign-in")
    auth.sign_out(answer)
    return answer


@router.post("/switch-org")
def switch_org(
    web: SignedInDep, org: Annotated[str, Form()], csrf: Annotated[str, Form()]
) -> RedirectResponse:
    """Act in another of the person's organisations (kept in the ``cp_org`` cookie)."""
    web.check_csrf(csrf)
    if org not in {o["name"] for o in web.orgs}:
        raise InvalidInput(f"you are not a member of organisation {org!r}")
    answer = web.redirect("/")
    auth.set_cookie(web.request, answer, auth.ORG_COOKIE, org)
    return answer
