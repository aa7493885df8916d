"""App-level behaviour: health, OpenAPI, and the in-process expiry worker."""

from __future__ import annotations

import dataclasses
import time

from fastapi.testclient import TestClient
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow

from chainproof.server.app import create_app


def test_health_ready_openapi_home(app_client: Env) -> None:
    client = app_client.client
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/runs/{run_id}/attestation" in paths
    assert "chainproof" in client.get("/").text


def test_unknown_route_is_problem(app_client: Env) -> None:
    reply = app_client.get("/nope")
    assert reply.status_code == 404 and reply.json()["code"] == "not_found"


def test_lifespan_worker_expires_runs(app_client: Env) -> None:
    settings = app_client.settings.model_copy(
        update={"run_expiry_seconds": 1, "expiry_check_seconds": 0.2}
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            env = dataclasses.replace(app_client, client=client)
            setup_workflow(env)
            run_id = init_run(env).json()["run"]["id"]
            deadline = time.monotonic() + 10
            status = "initialized"
            while status == "initialized" and time.monotonic() < deadline:
                time.sleep(0.2)
                status = env.get(f"/runs/{run_id}").json()["status"]
            assert status == "expired"
    finally:
        app.state.engine.dispose()  # its own pool: closed here, not by the garbage collector
