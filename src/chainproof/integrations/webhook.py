"""Webhook kind: CloudEvents 1.0 structured JSON, signed with HMAC-SHA256.

Each request is a POST of ``application/cloudevents+json`` with the headers
(docs/integrations.md, "Webhook"):

- ``X-Chainproof-Timestamp``: Unix seconds when the request was signed;
- ``X-Chainproof-Signature``: ``v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>``;
- ``Idempotency-Key``: the event id (the same on every retry and redelivery).

A receiver recomputes the signature over the exact body bytes and refuses timestamps outside
its replay window (:func:`verify`, five minutes by default).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from chainproof.integrations import Event, Outcome, http_client, status_outcome

SIGNATURE = "X-Chainproof-Signature"
TIMESTAMP = "X-Chainproof-Timestamp"
IDEMPOTENCY = "Idempotency-Key"
CONTENT_TYPE = "application/cloudevents+json"
REPLAY_WINDOW_SECONDS = 300


class WebhookConfig(BaseModel):
    """Where to POST the events."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl = Field(description="The receiver's URL (https in production).")
    source: str = Field(
        "chainproof", description="CloudEvents `source` prefix (the organisation is appended)."
    )


def cloudevent(event: Event, source: str = "chainproof") -> dict[str, Any]:
    """The CloudEvents 1.0 structured form of ``event``."""
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": f"{source}/{event.org}",
        "type": f"dev.chainproof.{event.type}",
        "subject": event.subject,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": event.data,
    }


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Chainproof-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    *,
    now: float | None = None,
    window: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """Whether a received request is ours and fresh (the receiver's side of :func:`sign`)."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > window:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


class Webhook:
    name = "webhook"
    description = "POST each event as a signed CloudEvents 1.0 JSON document."
    config = WebhookConfig
    stdin_help: str | None = "the HMAC-SHA256 signing key the receiver verifies with"

    def endpoints(self, config: BaseModel, secret: str | None) -> list[str]:
        assert isinstance(config, WebhookConfig)
        return [str(config.url)]

    def deliver(
        self, config: BaseModel, secret: str | None, event: Event, timeout: float
    ) -> Outcome:
        assert isinstance(config, WebhookConfig)
        body = json.dumps(cloudevent(event, config.source), separators=(",", ":")).encode()
        stamp = int(time.time())
        headers = {"Content-Type": CONTENT_TYPE, TIMESTAMP: str(stamp), IDEMPOTENCY: event.id}
        if secret:
            headers[SIGNATURE] = sign(secret, stamp, body)
        reply = http_client().post(str(config.url), content=body, headers=headers, timeout=timeout)
        return status_outcome(reply.status_code, reply.text)


KIND = Webhook()
