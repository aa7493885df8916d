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
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import anyio

from chainproof.errors import InvalidInput

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from chainproof.server.settings import Settings

__all__ = ["BodyTimeout", "Hsts", "protocol_class", "serve", "tls_files"]

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


def protocol_class(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, as uvicorn's ``auto``; else h11) with
    the request-head deadline."""
    base: type[asyncio.Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    except ImportError:  # pragma: no cover - the server extra installs uvicorn[standard]
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    return protocol_for(base, header_timeout)


def protocol_for(base: type[asyncio.Protocol], header_timeout: float) -> type[asyncio.Protocol]:
    """``base`` (one of uvicorn's HTTP protocols) with the request-head deadline."""
    return type(
        f"Guarded{base.__name__}", (_HeaderDeadline, base), {"header_timeout": header_timeout}
    )


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


def serve(app: ASGIApp, settings: Settings) -> None:
    """Run ``app`` with uvicorn on ``settings.host:port`` until interrupted, with the
    timeouts, connection limit, TLS and HSTS of ``settings``."""
    import uvicorn

    tls = tls_files(settings)
    wrapped: ASGIApp = BodyTimeout(app, seconds=settings.http_body_timeout_seconds)
    if settings.hsts_max_age_seconds > 0:
        always = settings.base_url.startswith("https://")
        wrapped = Hsts(wrapped, max_age=settings.hsts_max_age_seconds, always=always)
    config = uvicorn.Config(
        wrapped,
        host=settings.host,
        port=settings.port,
        # Logging goes through the handler telemetry.logs.configure_logging installed;
        # uvicorn's access log is replaced by ours (server/telemetry/requests.py).
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=protocol_class(settings.http_header_timeout_seconds),
        timeout_keep_alive=settings.http_keepalive_seconds,
        limit_concurrency=settings.http_max_connections or None,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    uvicorn.Server(config).run()
