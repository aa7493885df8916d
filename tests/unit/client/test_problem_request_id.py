"""A server failure reaches the CLI user with the request id its operator finds the logs by."""

from __future__ import annotations

import httpx
import pytest
from tests.unit.client.test_http_client import make_client, problem

from chainproof.errors import NotFound, ServiceError


def test_server_failure_hint_names_the_request_id() -> None:
    client, _ = make_client(
        lambda r: problem(500, "service_error", "the server failed", request_id="abc123")
    )
    with pytest.raises(ServiceError) as info:
        client.whoami()
    assert info.value.hint is not None and "request id abc123" in info.value.hint


def test_other_errors_keep_their_own_hint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return problem(404, "not_found", "no such run", hint="list runs", request_id="abc123")

    client, _ = make_client(handler)
    with pytest.raises(NotFound) as info:
        client.whoami()
    assert info.value.hint == "list runs"
