"""ApiClient over httpx.MockTransport: retries, error mapping, secrets kept out of errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from chainproof.client.http import ApiClient
from chainproof.errors import (
    Conflict,
    ContractError,
    NetworkError,
    NotFound,
    ServiceError,
    Unauthorized,
)

TOKEN = "cp_s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3t"
URL = "http://cp.test"

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler, *, retries: int = 4) -> tuple[ApiClient, list[float]]:
    sleeps: list[float] = []
    client = ApiClient(
        URL, TOKEN, retries=retries, transport=httpx.MockTransport(handler), sleep=sleeps.append
    )
    return client, sleeps


def problem(status: int, code: str, detail: str, **extra: object) -> httpx.Response:
    body = {
        "type": f"https://chainproof.dev/problems/{code}",
        "title": code,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return httpx.Response(
        status, content=json.dumps(body), headers={"content-type": "application/problem+json"}
    )


def test_sends_bearer_token_and_parses_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"org": {"id": "o1", "name": "acme"}, "token": {}})

    client, _ = make_client(handler)
    assert client.whoami()["org"]["name"] == "acme"
    assert seen[0].url.path == "/api/v1/whoami"
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["user-agent"].startswith("chainproof-cli/")


def test_get_retries_on_503_then_succeeds() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"items": [{"name": "shop"}], "next_cursor": None})

    client, sleeps = make_client(handler)
    assert client.list_projects() == [{"name": "shop"}]
    assert calls["n"] == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= 20 for s in sleeps)


def test_gives_up_after_retries_with_service_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    client, sleeps = make_client(handler, retries=2)
    with pytest.raises(ServiceError) as info:
        client.whoami()
    assert info.value.exit_code == 4
    assert len(sleeps) == 2


def test_post_without_idempotency_key_is_not_retried() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(503)

    client, _ = make_client(handler)
    with pytest.raises(ServiceError):
        client.create_project("shop")
    assert calls["n"] == 1


def test_push_with_idempotency_key_is_retried() -> None:
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) == 1:
            return httpx.Response(504)
        return httpx.Response(200, json={"id": "r1", "status": "succeeded"})

    client, _ = make_client(handler)
    run = client.push_attestation("r1", bundle={"b": 1}, materials=[], idempotency_key="push-k")
    assert run["status"] == "succeeded"
    assert keys == ["push-k", "push-k"]


def test_network_error_maps_to_network_error_without_token() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        raise httpx.ConnectError(f"connection refused (token {TOKEN})", request=request)

    client, sleeps = make_client(handler, retries=3)
    with pytest.raises(NetworkError) as info:
        client.whoami()
    err = info.value
    assert err.exit_code == 4
    assert calls["n"] == 4 and len(sleeps) == 3
    assert TOKEN not in str(err) and TOKEN not in err.diagnostics()
    assert "cp.test" in str(err)
    assert isinstance(err.__cause__, httpx.ConnectError)


def test_timeout_maps_to_network_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = make_client(handler, retries=0)
    with pytest.raises(NetworkError, match="timed out"):
        client.get_run("r1")


@pytest.mark.parametrize(
    ("status", "code", "cls", "exit_code"),
    [
        (404, "not_found", NotFound, 3),
        (401, "unauthorized", Unauthorized, 3),
        (409, "conflict", Conflict, 5),
        (422, "invalid_contract", ContractError, 2),
    ],
)
def test_problem_json_maps_to_error_class(
    status: int, code: str, cls: type[Exception], exit_code: int
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return problem(status, code, "it went wrong", hint="do this", details={"line": 3})

    client, _ = make_client(handler)
    with pytest.raises(cls) as info:
        client.get_contract("release")
    err = info.value
    assert err.exit_code == exit_code  # type: ignore[attr-defined]
    assert str(err) == "it went wrong"
    assert err.hint == "do this"  # type: ignore[attr-defined]
    assert err.details == {"line": 3}  # type: ignore[attr-defined]


def test_problem_detail_is_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return problem(401, "unauthorized", f"unknown token {TOKEN}")

    client, _ = make_client(handler)
    with pytest.raises(Unauthorized) as info:
        client.whoami()
    assert TOKEN not in str(info.value)


def test_non_problem_error_is_service_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>nginx</html>", headers={"content-type": "text/html"})

    client, _ = make_client(handler)
    with pytest.raises(ServiceError) as info:
        client.whoami()
    assert "HTTP 404" in str(info.value)
    assert info.value.exit_code == 4


def test_token_not_in_repr() -> None:
    client, _ = make_client(lambda r: httpx.Response(200))
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(client.session_for("http://cas.test", TOKEN))


def test_lists_follow_cursor_and_drop_none_params() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.params.get("cursor") == "c2":
            return httpx.Response(200, json={"items": [{"id": "r3"}], "next_cursor": None})
        return httpx.Response(
            200, json={"items": [{"id": "r1"}, {"id": "r2"}], "next_cursor": "c2"}
        )

    client, _ = make_client(handler)
    runs = client.list_runs(project="shop", limit=None)
    assert [r["id"] for r in runs] == ["r1", "r2", "r3"]
    assert seen[0].params.get("project") == "shop"
    assert "workflow" not in seen[0].params and "cursor" not in seen[0].params


def test_endpoints_use_documented_paths_and_bodies() -> None:
    seen: list[tuple[str, str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        if request.url.path.endswith("/signing/certificates"):
            return httpx.Response(200, json={"chain": ["LEAF", "CA"]})
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json={"ok": True})

    client, _ = make_client(handler)
    client.create_workflow("build", "shop", team="payments")
    client.update_contract("release", "raw: text")
    client.create_token("ci", project="shop", expires_in_seconds=60)
    client.revoke_token("t1")
    client.init_run(workflow="build", project="shop", runner={"type": "GENERIC"})
    client.reset_run("r1", "cancellation", "stop")
    client.cas_upload_token("r1")
    client.cas_download_token("sha256:" + "a" * 64)
    assert client.signing_certificate("r1", "CSR") == ["LEAF", "CA"]
    client.trust_root()
    client.get_run_bundle("r1")
    client.get_run_statement("r1")
    assert seen == [
        ("POST", "/api/v1/workflows", {"name": "build", "project": "shop", "team": "payments"}),
        ("PUT", "/api/v1/contracts/release", {"raw": "raw: text"}),
        ("POST", "/api/v1/tokens", {"name": "ci", "project": "shop", "expires_in_seconds": 60}),
        ("DELETE", "/api/v1/tokens/t1", None),
        (
            "POST",
            "/api/v1/runs",
            {"workflow": "build", "project": "shop", "runner": {"type": "GENERIC"}},
        ),
        ("POST", "/api/v1/runs/r1/reset", {"trigger": "cancellation", "reason": "stop"}),
        ("POST", "/api/v1/cas/tokens", {"direction": "upload", "run_id": "r1"}),
        ("POST", "/api/v1/cas/tokens", {"direction": "download", "digest": "sha256:" + "a" * 64}),
        ("POST", "/api/v1/signing/certificates", {"run_id": "r1", "csr": "CSR"}),
        ("GET", "/api/v1/trust/root", None),
        ("GET", "/api/v1/runs/r1/bundle", None),
        ("GET", "/api/v1/runs/r1/statement", None),
    ]
