"""The device authorization grant the CLI runs (client/signin.py), against a provider
answering through httpx.MockTransport: pending and slow_down polls, approval, denial."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from chainproof.client import signin
from chainproof.errors import InvalidInput, ServiceError, Unauthorized

ISSUER = "https://idp.test"
PROVIDER = {"name": "corp", "issuer": ISSUER, "client_id": "cli"}


def _provider(
    token_answers: list[tuple[int, dict[str, object]]],
) -> tuple[httpx.MockTransport, list[dict[str, str]]]:
    polls: list[dict[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            meta = {"issuer": ISSUER, "device_authorization_endpoint": f"{ISSUER}/device",
                    "token_endpoint": f"{ISSUER}/token"}  # fmt: skip
            return httpx.Response(200, json=meta)
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if path == "/device":
            assert form == {"client_id": "cli", "scope": "openid email profile"}
            grant = {"device_code": "dc", "user_code": "BCDF-GHJK", "interval": 2,
                     "verification_uri": f"{ISSUER}/activate", "expires_in": 600}  # fmt: skip
            return httpx.Response(200, json=grant)
        polls.append(form)
        status, body = token_answers.pop(0)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle), polls


def test_the_device_flow_polls_until_approved_and_slows_down_when_asked() -> None:
    transport, polls = _provider(
        [
            (400, {"error": "authorization_pending"}),
            (400, {"error": "slow_down"}),
            (200, {"access_token": "a", "token_type": "Bearer", "id_token": "the.id.token"}),
        ]
    )
    prompts: list[tuple[str, str, str | None]] = []
    waits: list[float] = []
    got = signin.device_id_token(
        PROVIDER, prompt=lambda *a: prompts.append(a), transport=transport, sleep=waits.append
    )
    assert got == "the.id.token"
    assert prompts == [(f"{ISSUER}/activate", "BCDF-GHJK", None)]
    assert waits == [2, 2, 7]  # RFC 8628 §3.5: slow_down adds 5 seconds
    assert polls[0]["grant_type"] == signin.DEVICE_GRANT
    assert (polls[0]["device_code"], polls[0]["client_id"]) == ("dc", "cli")


def test_a_denied_sign_in_is_unauthorized_and_a_missing_id_token_is_named() -> None:
    transport, _ = _provider([(400, {"error": "access_denied"})])
    with pytest.raises(Unauthorized, match="not completed: access_denied"):
        signin.device_id_token(
            PROVIDER, prompt=lambda *a: None, transport=transport, sleep=lambda s: None
        )
    transport, _ = _provider([(200, {"access_token": "a", "token_type": "Bearer"})])
    with pytest.raises(ServiceError, match="no ID token"):
        signin.device_id_token(
            PROVIDER, prompt=lambda *a: None, transport=transport, sleep=lambda s: None
        )


def test_choosing_a_provider() -> None:
    other = {**PROVIDER, "name": "partners"}
    assert signin.choose_provider([PROVIDER], None) == PROVIDER
    assert signin.choose_provider([PROVIDER, other], "partners") == other
    with pytest.raises(InvalidInput, match="corp, partners"):
        signin.choose_provider([PROVIDER, other], None)
    with pytest.raises(InvalidInput, match="no identity provider"):
        signin.choose_provider([], None)
