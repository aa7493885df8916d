"""The request-head deadline (server/serving.py) on both of uvicorn's HTTP/1.1 protocols, with
a uvicorn server on 127.0.0.1 in a thread: a stalled head is cut off, on a fresh connection
and after a kept-alive response; requests in progress and pipelined ones are not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from tests.served import served
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chainproof.server.serving import protocol_for

_DEADLINE = 0.5


async def _slow_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers after twice the head deadline: the deadline must not cut a request it handles."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(2 * _DEADLINE)
    body = scope["path"].encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(params=[H11Protocol, HttpToolsProtocol], ids=["h11", "httptools"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    with served(
        _slow_app,
        http=protocol_for(request.param, _DEADLINE),
        timeout_keep_alive=30,  # longer than the deadline: the deadline is what closes
    ) as port:
        yield port


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _responses(sock: socket.socket, count: int) -> bytes:
    sock.settimeout(10)
    data = b""
    while data.count(b"HTTP/1.1 200") < count or not data.endswith((b"/a", b"/b")):
        chunk = sock.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def test_a_stalled_request_head_is_cut_off(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n")
        assert _closed_within(sock, 10 * _DEADLINE)


def test_slow_and_pipelined_requests_are_answered_then_an_idle_connection_closes(
    port: int,
) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        data = _responses(sock, 2)
        assert data.endswith(b"/b") and b"/a" in data
        # Kept alive, then a half-sent next request: the deadline starts again and cuts it.
        sock.sendall(b"GET /c HT")
        assert _closed_within(sock, 10 * _DEADLINE)
