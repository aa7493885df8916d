"""Real receivers on loopback for the integration tests (docs/integrations.md).

:class:`Receiver` is a small ASGI app under uvicorn in a thread. On ``/webhook`` it checks the
documented request shape as a receiver would (content type, CloudEvents 1.0 attributes, the
signature over timestamp and body with the receiver's own HMAC code, the replay window) and
keeps each event once by its ``Idempotency-Key``, counting the repeats; on ``/slack``,
``/discord`` and ``/teams`` it checks each chat's JSON shape; on ``/api/v1/bom`` it is a
Dependency-Track API server taking SBOM uploads as documented (``PUT``, ``X-Api-Key``, JSON
with ``projectName``, ``projectVersion``, ``autoCreate`` and the base64 ``bom``; answers a
processing token). ``status``, ``delay`` and ``hold`` make it fail, or answer late (or not
until released) after taking the request. :class:`SmtpReceiver` is aiosmtpd's SMTP server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller

REPLAY_WINDOW = 300
_CHAT_FIELD = {"/slack": "text", "/discord": "content", "/teams": "text"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The verification snippet of docs/integrations.md, as a receiver writes it."""
    stamp = headers.get("x-chainproof-timestamp", "")
    given = headers.get("x-chainproof-signature", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > REPLAY_WINDOW:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + expected.hexdigest(), given)


@dataclass
class Receiver:
    """Webhook and chat endpoints; what they accepted, refused and saw twice."""

    secret: str = "receiver-key"
    port: int = field(default_factory=free_port)
    status: int = 200
    delay: float = 0.0
    #: While true, requests are taken and held unanswered (a receiver stalled mid-request).
    hold: bool = False
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    chats: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Dependency-Track uploads: (projectName, projectVersion, the SBOM's bytes).
    boms: list[tuple[str, str, bytes]] = field(default_factory=list)
    repeats: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    served: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.served += 1
        if self.status >= 300:
            return await _answer(send, self.status)
        if scope["path"] == "/api/v1/bom":
            problem = self._bom(scope["method"], headers, body)
            if problem:
                self.refused.append(problem)
            token = json.dumps({"token": str(uuid.uuid4())}).encode()
            return await _answer(send, 400 if problem else 200, b"" if problem else token)
        problem = self._take(scope["path"], headers, body)
        if problem:
            self.refused.append(problem)
        if self.delay:  # processed, answered late: the sender may time out or die meanwhile
            await asyncio.sleep(self.delay)
        while self.hold:
            await asyncio.sleep(0.02)
        await _answer(send, 400 if problem else 200)

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> str | None:
        if path in _CHAT_FIELD:
            doc = json.loads(body)
            if not isinstance(doc.get(_CHAT_FIELD[path]), str):
                return f"{path}: no {_CHAT_FIELD[path]}"
            self.chats.append((path, doc))
            return None
        if headers.get("content-type") != "application/cloudevents+json":
            return "content type"
        if not verify(self.secret, headers, body):
            return "signature"
        event = json.loads(body)
        missing = {"specversion", "id", "source", "type", "time", "data"} - event.keys()
        if missing or event["specversion"] != "1.0":
            return f"not a CloudEvent: {missing}"
        if headers.get("idempotency-key") != event["id"]:
            return "idempotency key"
        if event["id"] in self.events:  # the receiver's idempotency check
            self.repeats.append(event["id"])
        else:
            self.events[event["id"]] = event
        return None

    def _bom(self, method: str, headers: dict[str, str], body: bytes) -> str | None:
        """Dependency-Track's ``PUT /api/v1/bom`` (BomSubmitRequest), as its server checks it."""
        if method != "PUT" or headers.get("x-api-key") != self.secret:
            return f"bom: {method}, api key {headers.get('x-api-key')!r}"
        if headers.get("content-type") != "application/json":
            return "bom: content type"
        doc = json.loads(body)
        name, version = doc.get("projectName"), doc.get("projectVersion")
        if not (isinstance(name, str) and name and isinstance(version, str) and version):
            return "bom: projectName and projectVersion"
        if doc.get("autoCreate") is not True or set(doc) - {
            "projectName",
            "projectVersion",
            "autoCreate",
            "bom",
        }:
            return f"bom: fields {sorted(doc)}"
        try:
            sbom = base64.b64decode(doc.get("bom", ""), validate=True)
        except (binascii.Error, TypeError):
            return "bom: not base64"
        self.boms.append((name, version, sbom))
        return None

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        config = uvicorn.Config(
            self,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,  # a stalled answer does not hold the test up
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            thread.join(10)


async def _answer(send: Any, status: int, body: bytes = b"") -> None:
    headers = [(b"content-type", b"application/json")] if body else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, list[Message]]]:
    """aiosmtpd on loopback: its port and the messages it received."""
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox.messages
    finally:
        controller.stop()
