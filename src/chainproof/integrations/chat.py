"""Slack, Discord and Microsoft Teams incoming webhooks: one readable message per event.

The webhook URL is the credential (anyone holding it may post), so it is the integration's
secret, read with ``--secret-stdin`` and sealed at rest, never part of the config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chainproof.integrations import Event, Outcome, http_client, status_outcome

_STDIN_HELP = "the incoming-webhook URL (it is a credential)"


class ChatConfig(BaseModel):
    """Nothing is required: the webhook URL is the secret."""

    model_config = ConfigDict(extra="forbid")
    prefix: str = Field("", description="Text put before every message, e.g. a mention.")


def _slack(text: str, event: Event) -> dict[str, Any]:
    return {"text": text}


def _discord(text: str, event: Event) -> dict[str, Any]:
    return {"content": text[:2000], "allowed_mentions": {"parse": []}}


def _teams(text: str, event: Event) -> dict[str, Any]:
    return {"text": text.replace("\n", "\n\n")}  # Teams renders Markdown paragraphs


class Chat:
    config = ChatConfig
    stdin_help: str | None = _STDIN_HELP

    def __init__(
        self, name: str, description: str, payload: Callable[[str, Event], dict[str, Any]]
    ) -> None:
        self.name = name
        self.description = description
        self._payload = payload

    def endpoints(self, config: BaseModel, secret: str | None) -> list[str]:
        return [secret] if secret else []

    def deliver(
        self, config: BaseModel, secret: str | None, event: Event, timeout: float
    ) -> Outcome:
        assert isinstance(config, ChatConfig)
        if not secret:
            return Outcome(False, None, "no webhook URL: add the integration with --secret-stdin")
        text = f"{config.prefix} {event.details()}".strip()
        reply = http_client().post(secret, json=self._payload(text, event), timeout=timeout)
        return status_outcome(reply.status_code, reply.text)


SLACK = Chat("slack", "Post a readable summary to a Slack incoming webhook.", _slack)
DISCORD = Chat("discord", "Post a readable summary to a Discord webhook.", _discord)
TEAMS = Chat("teams", "Post a readable summary to a Microsoft Teams incoming webhook.", _teams)
