"""The server process at its edges (issue 15): uploads over the size limit, clients that send
part of a request and stall, the connection limit. Real `server start` processes on 127.0.0.1;
counts and waits are bounded (at most 60 connections, seconds of waiting)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest
from tests.e2e.conftest import Server, start_server

pytestmark = pytest.mark.e2e

# Short timeouts, so that the tests wait seconds, not the defaults' tens of seconds.
_HEADER_TIMEOUT = 2
_BODY_TIMEOUT = 2
_MAX_CONNECTIONS = 60
_STRICT = {
    "CHAINPROOF_HTTP_HEADER_TIMEOUT_SECONDS": str(_HEADER_TIMEOUT),
    "CHAINPROOF_HTTP_BODY_TIMEOUT_SECONDS": str(_BODY_TIMEOUT),
    "CHAINPROOF_HTTP_MAX_CONNECTIONS": str(_MAX_CONNECTIONS),
}
# How long a test waits for the server to act on a timeout before calling it a failure.
_GRACE = 8.0


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with 2-second header and body timeouts and 60 connections at most."""
    tmp = tmp_path_factory.mktemp("strict")
    yield from start_server(tmp, run_expiry_seconds=600, extra_env=_STRICT)


def _connect(server: Server) -> socket.socket:
    url = urlsplit(server.url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=5)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (whatever it sends first)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False


def _response(sock: socket.socket, seconds: float) -> tuple[int, bytes]:
    """Read one HTTP response (status, body) within ``seconds``; TimeoutError otherwise."""
    sock.settimeout(seconds)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1]), body


def _cas_upload_token(server: Server) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/cas/tokens",
        json={"direction": "upload"},
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def test_an_upload_declaring_99_tb_is_refused_before_its_body(server: Server) -> None:
    token = _cas_upload_token(server)
    digest = "sha256:" + "ab" * 32
    head = (
        f"PUT /cas/v1/blobs/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {99 * 10**12}\r\n\r\n"
    )
    with _connect(server) as sock:
        sock.sendall(head.encode())
        # Not a byte of the body is sent: the answer must come from the declared length.
        status, body = _response(sock, _GRACE)
    assert status == 413, body
    assert b"at most 100000000 bytes (100 MB)" in body
    assert b"CHAINPROOF_CAS_MAX_BLOB_SIZE" in body


def test_clients_that_stall_in_the_request_head_are_disconnected(strict_server: Server) -> None:
    partial = [
        b"GET /healthz HT",  # half a request line
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",  # half the headers
    ]
    with ExitStack() as stack:
        socks = [stack.enter_context(_connect(strict_server)) for _ in range(50)]
        started = time.monotonic()
        for i, sock in enumerate(socks):
            sock.sendall(partial[i % 2])
        # One client trickles a header byte at a time: the deadline is not reset by data.
        trickler = stack.enter_context(_connect(strict_server))
        trickler.sendall(b"GET /healthz HTTP/1.1\r\nX-Trickle: ")
        cut_off = False
        while not cut_off and time.monotonic() - started < _HEADER_TIMEOUT + _GRACE:
            time.sleep(0.2)
            try:
                trickler.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
        assert cut_off, "a client trickling its headers was never disconnected"
        still_open = [s for s in socks if not _closed_within(s, _GRACE)]
        assert not still_open, f"{len(still_open)} of 50 stalled connections stayed open"
        assert time.monotonic() - started >= _HEADER_TIMEOUT - 0.5  # not closed at once
    # The server still serves everyone else.
    assert httpx.get(f"{strict_server.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("where", ["api", "cas"])
def test_a_stalled_request_body_gets_408_and_the_connection_closes(
    strict_server: Server, where: str
) -> None:
    if where == "api":
        target, token = "/api/v1/projects", strict_server.owner_token
    else:
        target, token = f"/cas/v1/blobs/sha256:{'cd' * 32}", _cas_upload_token(strict_server)
    head = (
        f"{'POST' if where == 'api' else 'PUT'} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    with _connect(strict_server) as sock:
        sock.sendall(head.encode() + b'{"name": "half')  # 14 of the 1000 bytes, then nothing
        started = time.monotonic()
        status, body = _response(sock, _BODY_TIMEOUT + _GRACE)
        assert status == 408, body
        assert time.monotonic() - started >= _BODY_TIMEOUT - 0.5
        assert b"stalled" in body
        assert _closed_within(sock, _GRACE)
    # A stalled client is the client's problem, not logged as a server crash.
    assert "Traceback" not in (strict_server.data_dir.parent / "server.log").read_text()


def test_connections_past_the_limit_are_answered_503(strict_server: Server) -> None:
    url = strict_server.url
    with ExitStack() as stack:
        for _ in range(_MAX_CONNECTIONS):
            stack.enter_context(_connect(strict_server))
        time.sleep(0.2)  # let the server accept them
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 503
    # Once the idle connections are gone (closed here, or by the header deadline) it serves.
    deadline = time.monotonic() + _GRACE
    while httpx.get(f"{url}/healthz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the server kept answering 503"
        time.sleep(0.2)
