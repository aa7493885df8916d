"""Errors on a page become a page: a sign-in redirect, or an error page with the message.

The API's problem handlers answer JSON; a browser following a link deserves HTML. Every
dashboard router uses :class:`PageRoute`, which turns our own errors into pages.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from chainproof.errors import ChainproofError, Unauthorized
from chainproof.server.web.render import error_page


class PageRoute(APIRoute):
    """An ``APIRoute`` whose :class:`ChainproofError` s render as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthorized:
                return sign_in_redirect(request)
            except ChainproofError as err:
                return error_page(request, err)

        return page_handler


def sign_in_redirect(request: Request) -> RedirectResponse:
    """303 to the sign-in page, coming back to this page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(here, safe='')}", status_code=303)
