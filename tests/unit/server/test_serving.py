"""server/serving.py's ASGI guards and TLS settings, called directly (no sockets; the real
server is exercised in tests/e2e/test_server_hardening.py and test_server_tls.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from chainproof.errors import InvalidInput
from chainproof.server.serving import BodyTimeout, Hsts, tls_files
from chainproof.server.settings import Settings

Message = dict[str, Any]


async def _reading_app(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body, then answers 200 with what it read."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away")
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _run(app: Any, incoming: list[Message], *, stall: float, scheme: str = "http") -> list[Message]:
    """Call ``app`` with ``incoming`` messages, then a receive() that waits ``stall`` seconds
    before reporting a disconnect; the messages it sent."""
    sent: list[Message] = []
    queue = list(incoming)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await anyio.sleep(stall)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "scheme": scheme, "method": "PUT", "path": "/", "headers": []}
    anyio.run(app, scope, receive, send)
    return sent


def test_a_stalled_body_is_answered_408_with_connection_close() -> None:
    part = {"type": "http.request", "body": b"half", "more_body": True}
    sent = _run(BodyTimeout(_reading_app, seconds=0.1), [part], stall=30)
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"nothing arrived for 0.1 seconds" in sent[1]["body"]


def test_a_body_that_keeps_coming_is_not_cut_off() -> None:
    parts = [{"type": "http.request", "body": b"a", "more_body": True}] * 3
    parts.append({"type": "http.request", "body": b"b", "more_body": False})
    sent = _run(BodyTimeout(_reading_app, seconds=0.5), parts, stall=30)
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"aaab"


def test_waiting_after_the_body_is_not_timed() -> None:
    async def waits_for_disconnect(scope: Any, receive: Any, send: Any) -> None:
        await _reading_app(scope, receive, send)
        assert (await receive())["type"] == "http.disconnect"  # as a streaming response does

    done = [{"type": "http.request", "body": b"all", "more_body": False}]
    sent = _run(BodyTimeout(waits_for_disconnect, seconds=0.05), done, stall=0.3)
    assert [m.get("status") for m in sent] == [200, None]


@pytest.mark.parametrize(
    ("scheme", "always", "sent"),
    [("https", False, True), ("http", False, False), ("http", True, True)],
)
def test_hsts_on_https_or_when_always(scheme: str, always: bool, sent: bool) -> None:
    done = [{"type": "http.request", "body": b"", "more_body": False}]
    start = _run(Hsts(_reading_app, max_age=600, always=always), done, stall=0, scheme=scheme)[0]
    header = (b"strict-transport-security", b"max-age=600")
    assert (header in start["headers"]) is sent


def test_tls_needs_both_files_and_they_must_exist(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert tls_files(Settings.embedded(tmp_path, environ={})) is None
    with pytest.raises(InvalidInput, match="both a certificate and its private key"):
        tls_files(Settings.embedded(tmp_path, environ={"CHAINPROOF_TLS_CERT": str(cert)}))
    env = {"CHAINPROOF_TLS_CERT": str(cert), "CHAINPROOF_TLS_KEY": str(key)}
    with pytest.raises(InvalidInput, match=r"cert\.pem does not exist"):
        tls_files(Settings.embedded(tmp_path, environ=env))
    cert.write_text("pem")
    key.write_text("pem")
    settings = Settings.embedded(tmp_path, environ=env)
    assert tls_files(settings) == (str(cert), str(key))
    assert settings.base_url == "https://127.0.0.1:8000"


def test_http_limits_come_from_the_environment(tmp_path: Path) -> None:
    env = {
        "CHAINPROOF_HTTP_HEADER_TIMEOUT_SECONDS": "2.5",
        "CHAINPROOF_HTTP_BODY_TIMEOUT_SECONDS": "7",
        "CHAINPROOF_HTTP_KEEPALIVE_SECONDS": "3",
        "CHAINPROOF_HTTP_MAX_CONNECTIONS": "50",
        "CHAINPROOF_HSTS_MAX_AGE_SECONDS": "0",
    }
    s = Settings.embedded(tmp_path, environ=env)
    assert (s.http_header_timeout_seconds, s.http_body_timeout_seconds) == (2.5, 7.0)
    assert (s.http_keepalive_seconds, s.http_max_connections, s.hsts_max_age_seconds) == (3, 50, 0)
