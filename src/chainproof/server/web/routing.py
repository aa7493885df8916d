"""Errors on a page become a page: a sign-in redirect, or an error page with the message.

The API's problem handlers answer JSON; a browser following a link deserves HTML. Every
dashboard router uses :class:`PageRoute`, which turns our own errors into pages.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from chainproof.errors import ChainproofError, InvalidInput, Unauthorized
from chainproof.server.web.render import error_page


class PageRoute(APIRoute):
    """An ``APIRoute`` whose :class:`ChainproofError` s, and the parameters FastAPI refuses
    (``?limit=lots``), render as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            if request.method == "GET" and _has_empty(request):
                return RedirectResponse(cleaned_url(request), status_code=303)
            try:
                return await handler(request)
            except Unauthorized:
                return sign_in_redirect(request)
            except ChainproofError as err:
                return error_page(request, err)
            except RequestValidationError as err:
                return error_page(request, invalid_parameter(err))

        return page_handler


def _has_empty(request: Request) -> bool:
    return any(not value.strip() for _, value in request.query_params.multi_items())


def cleaned_url(request: Request) -> str:
    """This page's URL without its empty parameters: a GET form submits every field, and
    one address per filter keeps links and bookmarks stable (``?status=failed``, not
    ``?workflow=&project=&status=failed``)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if v.strip()]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def sign_in_redirect(request: Request) -> RedirectResponse:
    """303 to the sign-in page, coming back to this page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(here, safe='')}", status_code=303)


def invalid_parameter(err: RequestValidationError) -> InvalidInput:
    """The first parameter FastAPI refused, in words (the API answers a problem document)."""
    first: dict[str, Any] = next(iter(err.errors()), {})
    where = [str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path")]
    name = ".".join(where) or "the request"
    given = first.get("input")
    shown = f" {given!r}" if isinstance(given, str | int | float) else ""
    return InvalidInput(
        f"{name}{shown}: {str(first.get('msg', 'is not valid')).lower()}",
        hint="correct the value in the address, or follow the page's own links and forms",
    )
