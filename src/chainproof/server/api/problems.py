"""One exception handler table: every error leaves as RFC 9457 problem+json.

See docs/contributing.md §4.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from chainproof.errors import (
    ChainproofError,
    InvalidInput,
    ServiceError,
    Unavailable,
    VerificationError,
)
from chainproof.server.db.session import unavailable_reason
from chainproof.server.telemetry import metrics
from chainproof.server.telemetry.requests import HEADER, REQUEST_ID

log = logging.getLogger("chainproof.server")
PROBLEM = "application/problem+json"
#: Seconds a client should wait before retrying while the database is unavailable: long
#: enough for a restarting PostgreSQL, short enough for a CI job (RFC 9110 §10.2.3).
RETRY_AFTER_SECONDS = 3

#: What every API operation may answer besides its success: a problem document for any 4xx
#: (docs/api.md, "Conventions"), so that clients and schema checkers (schemathesis, in
#: tests/integration/server/test_openapi_fuzz.py) find errors in the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "an RFC 9457 problem document",
        "content": {
            PROBLEM: {
                "schema": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail", "code"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "code": {"type": "string"},
                        "hint": {"type": "string"},
                        "details": {"type": "object"},
                    },
                }
            }
        },
    }
}


def problem_response(problem: dict[str, Any], status: int) -> JSONResponse:
    """A problem document response, carrying the request id (docs/operations.md)."""
    request_id = REQUEST_ID.get()
    headers = None
    if request_id:
        # Also as a header: a 500 is answered outside the middleware that sets it.
        problem = {**problem, "request_id": request_id}
        headers = {HEADER: request_id}
    return JSONResponse(
        jsonable_encoder(problem), status_code=status, media_type=PROBLEM, headers=headers
    )


def error_response(exc: ChainproofError) -> JSONResponse:
    """The problem response of ``exc``, as its handler answers it (for a route that must
    return its error instead of raising it: a raised error drops the route's background
    tasks)."""
    if isinstance(exc, VerificationError):
        metrics.verification_failed(exc)
    return problem_response(exc.to_problem(), exc.http_status)


async def _chainproof(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChainproofError)
    return error_response(exc)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body")
    err = InvalidInput(f"invalid request: {where + ': ' if where else ''}{first['msg']}")
    problem = err.to_problem()
    problem["status"] = 422
    problem["details"] = {"errors": errors}
    return problem_response(problem, 422)


#: Paths whose errors are always problem documents, whoever asks (the API, the CAS).
_MACHINE_PREFIXES = ("/api/", "/cas/")


def wants_page(request: Request) -> bool:
    """A browser following a link outside the API: it asks for HTML (``Accept``)."""
    path = request.url.path
    if path.startswith(_MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (404, 405) and wants_page(request):
        from chainproof.errors import NotFound
        from chainproof.server.web.render import error_page

        found = NotFound(
            "there is no page here" if exc.status_code == 404 else "this page cannot do that",
            hint="check the address, or start again from the overview",
        )
        page = error_page(request, found)
        page.status_code = exc.status_code
        return page
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}.get(
        exc.status_code, "invalid_input"
    )
    problem = {
        "type": f"https://chainproof.dev/problems/{code}",
        "title": code.replace("_", " "),
        "status": exc.status_code,
        "detail": str(exc.detail),
        "code": code,
    }
    return problem_response(problem, exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    err = ServiceError("the server failed to handle the request")
    problem = err.to_problem()
    problem["status"] = 500
    return problem_response(problem, 500)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    """A database that cannot serve right now is a 503 with Retry-After, so clients retry;
    any other database error is a bug (500). Handled here, not by Starlette's last-resort
    handler, so that the connection stays open."""
    reason = unavailable_reason(exc)
    if reason is None:
        return await _unexpected(request, exc)
    # The driver's reason only: SQLAlchemy's message carries the statement and its parameters.
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
    err = Unavailable(
        "the database is unavailable; try again shortly",
        hint="the chainproof CLI retries reads and idempotent writes by itself "
        "(CHAINPROOF_RETRY_TIMEOUT)",
    )
    response = problem_response(err.to_problem(), err.http_status)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install(app: FastAPI) -> None:
    """Register the handler table on ``app``."""
    app.add_exception_handler(ChainproofError, _chainproof)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _database)
    app.add_exception_handler(Exception, _unexpected)
