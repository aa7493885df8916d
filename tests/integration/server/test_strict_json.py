"""JSON request bodies are read strictly (server/api/strict_json.py): a repeated key or
runaway nesting is 400 invalid_input naming the problem, and nothing is created."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from tests.integration.conftest import Env

from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.web.routing import PageRoute


def _post_raw(env: Env, path: str, text: str) -> Any:
    headers = {**env.headers(), "content-type": "application/json"}
    return env.client.post(f"/api/v1{path}", content=text.encode(), headers=headers)


def test_a_body_with_a_repeated_key_is_refused(app_client: Env) -> None:
    reply = _post_raw(app_client, "/projects", '{"name": "shop", "name": "admin-only"}')
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "invalid_input"
    assert 'duplicate key "name"' in reply.json()["detail"]
    assert app_client.get("/projects").json()["items"] == []


def test_a_repeated_key_deep_in_a_run_init_is_refused(app_client: Env) -> None:
    body = (
        '{"project": "shop", "workflow": "build", '
        '"runner": {"type": "GENERIC", "env": {"A": "1"}, "type": "GITHUB_ACTION"}}'
    )
    reply = _post_raw(app_client, "/runs", body)
    assert reply.status_code == 400, reply.text
    assert 'duplicate key "type"' in reply.json()["detail"]
    assert app_client.get("/projects").json()["items"] == []


def test_a_deeply_nested_body_is_refused(app_client: Env) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    reply = _post_raw(app_client, "/projects", '{"name": "shop", "x": ' + deep + "}")
    assert reply.status_code == 400, reply.text
    assert "nested too deeply" in reply.json()["detail"]


def test_plain_bodies_still_work(app_client: Env) -> None:
    reply = _post_raw(app_client, "/projects", '{"name": "shop"}')
    assert reply.status_code == 201, reply.text
    reply = _post_raw(app_client, "/projects", '{"name": ')
    assert reply.status_code == 422  # malformed JSON: FastAPI's validation error, as before


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    # FastAPI keeps an included router as one entry holding the router's own routes.
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _api_routes(inner.routes) if inner is not None else [route]


def test_every_api_route_reads_bodies_strictly(
    app_and_client: tuple[Any, TestClient],
) -> None:
    routes = [
        r
        for r in _api_routes(app_and_client[0].routes)
        # Dashboard pages read HTML forms (CSRF-checked), not JSON bodies.
        if isinstance(r, APIRoute)
        and not isinstance(r, PageRoute)
        and r.path not in ("/healthz", "/readyz")
    ]
    assert len(routes) > 50
    loose = [r.path for r in routes if not isinstance(r, StrictJsonRoute)]
    assert loose == []
