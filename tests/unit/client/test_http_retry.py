"""Retries of idempotent calls within a time budget, honouring Retry-After (client/_retry.py),
over httpx.MockTransport with a recording sleep."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest

from chainproof.client._retry import MAX_BACKOFF, retry_after
from chainproof.client.http import ApiClient
from chainproof.errors import NetworkError, Unavailable

URL = "http://cp.test"
TOKEN = "cp_s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3t"
PAGE = {"items": [{"name": "shop"}], "next_cursor": None}


def unavailable(retry_after_header: str | None = "3") -> httpx.Response:
    body = {"code": "unavailable", "status": 503, "detail": "the database is unavailable"}
    headers = {"content-type": "application/problem+json"}
    if retry_after_header is not None:
        headers["retry-after"] = retry_after_header
    return httpx.Response(503, content=json.dumps(body), headers=headers)


def client_for(
    answers: list[httpx.Response], *, retry_timeout: float = 30.0
) -> tuple[ApiClient, list[float], list[str], list[str]]:
    sleeps: list[float] = []
    lines: list[str] = []
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    client = ApiClient(
        URL,
        TOKEN,
        retry_timeout=retry_timeout,
        on_retry=lines.append,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
    )
    return client, sleeps, lines, methods


def test_waits_at_least_retry_after_and_says_so() -> None:
    client, sleeps, lines, _ = client_for(
        [unavailable("3"), unavailable("3"), httpx.Response(200, json=PAGE)]
    )
    assert client.list_projects() == [{"name": "shop"}]
    assert len(sleeps) == 2 and all(s >= 3 for s in sleeps)
    assert len(lines) == 2
    assert lines[0].startswith("GET /api/v1/projects: HTTP 503 (the database is unavailable)")
    assert "retrying in" in lines[0]


def test_gives_up_when_the_budget_is_spent() -> None:
    client, sleeps, _, methods = client_for([unavailable("3")], retry_timeout=10)
    with pytest.raises(Unavailable) as caught:
        client.list_projects()
    assert caught.value.exit_code == 4
    assert sum(sleeps) <= 10
    assert len(sleeps) >= 2  # it did retry, more than once
    assert len(methods) == len(sleeps) + 1


def test_more_retries_than_the_old_fixed_count_within_the_budget() -> None:
    # Without Retry-After the waits are the jittered backoff: the budget, not a count of
    # four, decides when to stop.
    client, sleeps, _, methods = client_for([unavailable(None)], retry_timeout=30)
    with pytest.raises(Unavailable):
        client.whoami()
    assert len(methods) > 5
    assert sum(sleeps) <= 30
    assert all(s <= MAX_BACKOFF for s in sleeps)


def test_zero_budget_disables_retries() -> None:
    client, sleeps, lines, methods = client_for([unavailable("1")], retry_timeout=0)
    with pytest.raises(Unavailable):
        client.list_projects()
    assert methods == ["GET"] and sleeps == [] and lines == []


def test_a_post_without_idempotency_key_is_not_retried_on_503() -> None:
    client, sleeps, _, methods = client_for([unavailable("1")])
    with pytest.raises(Unavailable):
        client.create_project("shop")
    assert methods == ["POST"] and sleeps == []


def test_retry_after_in_seconds_only() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(" 0 ") == 0.0
    assert retry_after("600") == MAX_BACKOFF
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None
    assert retry_after(None) is None


def test_a_refused_tls_certificate_is_not_retried_and_says_how_to_trust_the_ca() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed: self-signed")
        except ssl.SSLError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    sleeps: list[float] = []
    client = ApiClient(URL, TOKEN, transport=httpx.MockTransport(handler), sleep=sleeps.append)
    with pytest.raises(NetworkError) as err:
        client.list_projects()
    assert calls == ["GET"] and sleeps == []  # one try: waiting cannot fix a certificate
    assert "its TLS certificate was refused" in err.value.message
    assert "SSL_CERT_FILE" in str(err.value.hint)
