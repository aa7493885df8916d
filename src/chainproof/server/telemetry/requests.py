"""Per-request telemetry: the request id, the access log line and the latency histogram.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which buffers streamed
bodies and runs the app in another task): it sets :data:`REQUEST_ID` for everything the
request logs, answers the id in ``X-Request-ID`` and, once the response is done, logs one
access line and observes ``chainproof_http_request_duration_seconds`` under the route
template the router matched.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainproof.server.telemetry.metrics import METHODS, REQUEST_SECONDS

__all__ = ["HEADER", "REQUEST_ID", "RequestTelemetry", "route_template"]

HEADER = "X-Request-ID"
#: The id of the request being handled (None outside requests); logs and problem documents
#: carry it. Threads FastAPI runs sync endpoints in copy the context, so they see it too.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "chainproof_request_id", default=None
)
#: An incoming id is kept when it is short and harmless in a log line or a header; anything
#: else is replaced (a client must not be able to forge log lines or flood labels).
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
#: Probes and scrapes come every few seconds: their access lines are DEBUG, not INFO.
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "<unmatched>"

access_log = logging.getLogger("chainproof.access")


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route that handled ``scope`` (``/api/v1/runs/{run_id}``), mounted
    apps' prefix included; ``<unmatched>`` when no route matched (404s, early refusals)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or isinstance(route, Mount):
        return UNMATCHED
    # NOTE: newer FastAPI (seen with 0.165) no longer copies an included router's routes with
    # its prefix: scope["route"] is the route as declared (``/{run_id}``), the full template is
    # on the request's "effective route context". Older FastAPI: route.path is already full.
    # tests/integration/server/test_telemetry.py fails if neither holds any more.
    state = scope.get("fastapi")
    context = state.get("effective_route_context") if isinstance(state, dict) else None
    full = getattr(context, "path_format", None)
    if isinstance(full, str) and getattr(context, "original_route", None) is route:
        path = full
    # A mount (the CAS at /cas/v1) extends root_path by its prefix before its own routes run.
    mounted = str(scope.get("root_path", ""))[len(root_path) :]
    return mounted + path


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            return given if _WELL_FORMED.fullmatch(given) else None
    return None


class RequestTelemetry:
    """Wrap an ASGI app with the request id, access log and latency metric."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or secrets.token_hex(16)
        # Not reset afterwards: an unhandled error's 500 handler runs outside this middleware
        # (Starlette's ServerErrorMiddleware) and still logs and answers the id.
        REQUEST_ID.set(request_id)
        root_path = str(scope.get("root_path", ""))
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, root_path, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, root_path: str, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        route = route_template(scope, root_path)
        REQUEST_SECONDS.labels(
            route, method if method in METHODS else "other", f"{status // 100}xx"
        ).observe(seconds)
        path = str(scope.get("path", ""))
        duration_ms = round(seconds * 1000, 1)
        access_log.log(
            logging.DEBUG if path in _QUIET else logging.INFO,
            "%s %s %d %.1fms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
            },
        )
