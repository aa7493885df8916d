"""How a chainproof server process meets the network: uvicorn with bounded waits, a connection
limit, optional TLS and HSTS (docs/server-hardening.md).

uvicorn bounds idle kept-alive connections (``timeout_keep_alive``) and, with
``limit_concurrency``, answers 503 past a number of connections, but it has no timeout for a
client that sends part of a request and stalls: it waits for the rest forever (issue 15: 1,100
half-sent requests stayed open). Two guards close that gap:

- :class:`_HeaderDeadline`, mixed into uvicorn's own HTTP protocols, closes a connection that
  has not sent a whole request line and headers within ``http_header_timeout_seconds`` of
  connecting or of the previous response. It is an absolute deadline, not an idle timer, so a
  client trickling one header byte at a time is cut off too. It also bounds how long the body
  of a refused request (say a 413) is read and thrown away after the answer.
- :class:`BodyTimeout`, an ASGI middleware, answers 408 and closes the connection when the
  application waits more than ``http_body_timeout_seconds`` for the next part of a request body.
  It measures only while the application is asking for the body, so a slow application (whose
  uvicorn buffer is full and reading paused) never blames the client.

With ``workers`` above 1 (:func:`serve_workers`), uvicorn's supervisor binds the port once and
spawns that many processes, each handed a pickled copy of the uvicorn config: so the protocol
classes here are module-level (pickled by name) and read the deadline from the config
(:class:`GuardedConfig`), and each process builds its own application from a picklable factory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from chainproof.errors import InvalidInput, ServiceError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from chainproof.server.settings import Settings

__all__ = [
    "BodyTimeout",
    "GuardedConfig",
    "GuardedH11Protocol",
    "Hsts",
    "guard",
    "protocol_class",
    "serve",
    "serve_workers",
    "tls_files",
    "uvicorn_config",
]

log = logging.getLogger("chainproof.server")


class _HeaderDeadline(asyncio.Protocol):
    """Closes the connection unless a whole request head arrives within ``header_timeout``.

    Mixed in front of uvicorn's ``H11Protocol`` or ``HttpToolsProtocol``: the deadline starts
    when the connection opens and again when a response completes, and stops once a request is
    being handled (uvicorn then holds a ``cycle`` whose response is not complete).
    """

    header_timeout: float = 10.0
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None = None

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]  # uvicorn's protocol
        # A GuardedConfig carries the deadline (a class built by protocol_for has its own).
        self.header_timeout = getattr(config, "header_timeout", self.header_timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._settle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # Armed before uvicorn starts a pipelined request, which _settle then sees.
        self._arm()
        super().on_response_complete()  # type: ignore[misc]  # defined by uvicorn's protocols
        self._settle()

    def _arm(self) -> None:
        self._disarm()
        if self.header_timeout > 0:
            self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _settle(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            peer = self.transport.get_extra_info("peername")
            log.info("closed a connection from %s: no whole request within the time", peer)
            self.transport.close()


class GuardedH11Protocol(_HeaderDeadline, H11Protocol):
    """uvicorn's h11 protocol with the request-head deadline."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(_HeaderDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol with the request-head deadline."""

    _GUARDED: type[asyncio.Protocol] = GuardedHttpToolsProtocol
except ImportError:  # pragma: no cover - the server extra installs uvicorn[standard]
    _GUARDED = GuardedH11Protocol


def protocol_class() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, as uvicorn's ``auto``; else h11) with
    the request-head deadline of the :class:`GuardedConfig` it is created with."""
    return _GUARDED


def protocol_for(base: type[asyncio.Protocol], header_timeout: float) -> type[asyncio.Protocol]:
    """``base`` (one of uvicorn's HTTP protocols) with the request-head deadline
    ``header_timeout`` whatever its config (a class built here cannot go to worker processes)."""
    return type(
        f"Guarded{base.__name__}", (_HeaderDeadline, base), {"header_timeout": header_timeout}
    )


class GuardedConfig(uvicorn.Config):
    """uvicorn's config plus the request-head deadline its protocols read (it travels with the
    config to worker processes)."""

    def __init__(self, app: Any, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout


class BodyTimeout:
    """Answer 408 (and close the connection) when a request body stalls for ``seconds``."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        body_pending = True
        timed_out = False
        started = False

        async def timed_receive() -> Message:
            nonlocal body_pending, timed_out
            if not body_pending:
                # After the body, receive() waits for a disconnect (e.g. during a download).
                return await receive()
            with anyio.move_on_after(self.seconds):
                message = await receive()
                body_pending = message["type"] == "http.request" and message.get("more_body", False)
                return message
            timed_out = True
            body_pending = False
            # The application sees a client that went away and gives up on the request.
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:
                return  # The 408 below is the answer.
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise
        if timed_out and not started:
            log.info("request body stalled for %s s: answered 408", self.seconds)
            await _send_408(send, self.seconds)


async def _send_408(send: Send, seconds: float) -> None:
    body = json.dumps(
        {
            "type": "https://chainproof.dev/problems/invalid_input",
            "title": "request timeout",
            "status": 408,
            "detail": f"the request body stalled: nothing arrived for {seconds:g} seconds",
            "code": "invalid_input",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body may still come: this connection cannot carry another request.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 408, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Hsts:
    """Add ``Strict-Transport-Security`` to responses served over HTTPS (RFC 6797 §7.1).

    HTTPS is the request's scheme (TLS here, or ``X-Forwarded-Proto`` from a proxy uvicorn
    trusts), or every request when ``always`` (public_url is https: a proxy terminates TLS).
    """

    def __init__(self, app: ASGIApp, *, max_age: int, always: bool = False) -> None:
        self.app = app
        self.value = f"max-age={max_age}".encode()
        self.always = always

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.always or scope.get("scheme") == "https"):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"strict-transport-security", self.value)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def tls_files(settings: Settings) -> tuple[str, str] | None:
    """The TLS certificate and key files, or None; InvalidInput when only one is given or one
    cannot be read."""
    if settings.tls_cert is None and settings.tls_key is None:
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise InvalidInput(
            "TLS needs both a certificate and its private key",
            hint="pass both --tls-cert and --tls-key (CHAINPROOF_TLS_CERT, CHAINPROOF_TLS_KEY)",
        )
    for path in (settings.tls_cert, settings.tls_key):
        if not path.is_file():
            raise InvalidInput(f"TLS file {path} does not exist", hint="pass a PEM file")
    return str(settings.tls_cert), str(settings.tls_key)


def guard(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``app`` behind the body timeout and, when configured, HSTS."""
    wrapped: ASGIApp = BodyTimeout(app, seconds=settings.http_body_timeout_seconds)
    if settings.hsts_max_age_seconds > 0:
        always = settings.base_url.startswith("https://")
        wrapped = Hsts(wrapped, max_age=settings.hsts_max_age_seconds, always=always)
    return wrapped


def uvicorn_config(app: Any, settings: Settings, *, workers: int = 1) -> GuardedConfig:
    """The uvicorn config serving ``app`` (an ASGI app, or with ``workers`` above 1 a picklable
    factory each worker process calls) with the timeouts, limit and TLS of ``settings``."""
    tls = tls_files(settings)
    return GuardedConfig(
        app,
        header_timeout=settings.http_header_timeout_seconds,
        factory=workers > 1,
        workers=workers,
        host=settings.host,
        port=settings.port,
        # Logging goes through the handler telemetry.logs.configure_logging installed;
        # uvicorn's access log is replaced by ours (server/telemetry/requests.py).
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=protocol_class(),
        timeout_keep_alive=settings.http_keepalive_seconds,
        # Per process: each worker answers 503 past this many of its own connections.
        limit_concurrency=settings.http_max_connections or None,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )


def serve(app: ASGIApp, settings: Settings) -> None:
    """Run ``app`` with uvicorn on ``settings.host:port`` until interrupted, with the
    timeouts, connection limit, TLS and HSTS of ``settings``."""
    uvicorn.Server(uvicorn_config(guard(app, settings), settings)).run()


def serve_workers(factory: Callable[[], ASGIApp], settings: Settings, workers: int) -> None:
    """Run ``workers`` processes on ``settings.host:port`` until SIGINT or SIGTERM, each
    serving the app ``factory()`` builds in it (``factory`` is pickled to each process and
    must guard its app itself: :func:`guard`); uvicorn's supervisor restarts a process that
    dies. ServiceError when the workers cannot start."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    config = uvicorn_config(factory, settings, workers=workers)
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        raise ServiceError(
            "the API worker processes could not start", hint="the log above says why"
        )
