"""Operating a real `server start` and `cas serve`: JSON logs with request ids, /metrics
and /readyz (docs/operations.md)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.e2e.conftest import CLI, Server, _base_env, _free_port, cli_for, start_server
from tests.e2e.test_attestation_flow import _craft, _setup_workflow

JSON_LOGS = {"CHAINPROOF_LOG_FORMAT": "json"}


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server logging JSON to ``<tmp>/server.log`` (stdout and stderr)."""
    yield from start_server(
        tmp_path_factory.mktemp("ops"), run_expiry_seconds=600, extra_env=JSON_LOGS
    )


def _log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path``, each of which must be one JSON object."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines
    parsed = []
    for line in lines:
        record = json.loads(line)  # fails on any line that is not JSON
        assert {"time", "level", "logger", "message"} <= set(record), line
        parsed.append(record)
    return parsed


def _wait_for(path: Path, found: Any) -> list[dict[str, Any]]:
    """The log's records once ``found(records)`` holds (the server writes asynchronously)."""
    deadline = time.monotonic() + 10
    while True:
        records = _log_lines(path)
        if found(records) or time.monotonic() > deadline:
            return records
        time.sleep(0.1)


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_json_logs_carry_the_request_id_and_metrics_count_the_push(
    json_server: Server, tmp_path: Path
) -> None:
    log_path = json_server.data_dir.parent / "server.log"
    auth = {"Authorization": f"Bearer {json_server.owner_token}"}
    reply = httpx.get(
        f"{json_server.url}/api/v1/projects", headers={**auth, "X-Request-ID": "e2e-req-1"}
    )
    assert reply.status_code == 200 and reply.headers["X-Request-ID"] == "e2e-req-1"
    missing = httpx.get(f"{json_server.url}/api/v1/runs/no-such-run", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["request_id"] == missing.headers["X-Request-ID"]

    cli = cli_for(json_server, tmp_path)
    robot = _setup_workflow(cli, "ops")
    _craft(cli, robot, "ops")
    cli("attestation", "push", token=robot)

    def access(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if r["logger"] == "chainproof.access"]

    records = _wait_for(
        log_path, lambda rs: any(r.get("route", "").endswith("/attestation") for r in access(rs))
    )
    mine = [r for r in access(records) if r.get("request_id") == "e2e-req-1"]
    assert len(mine) == 1
    assert mine[0]["method"] == "GET" and mine[0]["route"] == "/api/v1/projects"
    assert mine[0]["status"] == 200 and mine[0]["duration_ms"] >= 0
    not_found = [
        r for r in access(records) if r.get("request_id") == missing.headers["X-Request-ID"]
    ]
    assert not_found[0]["route"] == "/api/v1/runs/{run_id}" and not_found[0]["status"] == 404
    pushed = [r for r in access(records) if r["route"] == "/api/v1/runs/{run_id}/attestation"]
    assert len(pushed) == 1 and pushed[0]["status"] == 200 and len(pushed[0]["request_id"]) == 32
    # uvicorn's own lines come through the same formatter; its access log is ours instead.
    assert any(r["logger"].startswith("uvicorn") for r in records)
    assert not any(r["logger"] == "uvicorn.access" for r in records)

    metrics = httpx.get(f"{json_server.url}/metrics")
    assert metrics.status_code == 200
    samples = _samples(metrics.text)
    assert samples[("chainproof_pushes_total", frozenset({("outcome", "accepted")}))] == 1
    push_count = (
        "chainproof_http_request_duration_seconds_count",
        frozenset(
            {
                ("route", "/api/v1/runs/{run_id}/attestation"),
                ("method", "POST"),
                ("status", "2xx"),
            }
        ),
    )
    assert samples[push_count] == 1
    assert ("chainproof_db_pool_checkedout", frozenset()) in samples
    # The periodic jobs ran at least once in this process (run expiry every second).
    last = ("chainproof_job_last_success_timestamp_seconds", frozenset({("job", "run_expiry")}))
    assert samples[last] > 0
    ready = httpx.get(f"{json_server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


def test_cas_serve_logs_json_and_serves_metrics_and_readiness(
    json_server: Server, tmp_path: Path
) -> None:
    port = _free_port()
    log_path = tmp_path / "cas.log"
    env = {**_base_env(tmp_path), **JSON_LOGS}
    args = [CLI, "cas", "serve", "--data-dir", str(json_server.data_dir), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            ready = httpx.get(f"{url}/readyz", headers={"X-Request-ID": "cas-ready"})
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"database", "cas", "cas_backends"}
            blob = httpx.get(f"{url}/cas/v1/blobs/sha256:{'0' * 64}")
            assert blob.status_code == 401 and len(blob.headers["X-Request-ID"]) == 32
            text = httpx.get(f"{url}/metrics").text
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    samples = _samples(text)
    route = frozenset({("route", "/cas/v1/blobs/{digest}"), ("method", "GET"), ("status", "4xx")})
    assert samples[("chainproof_http_request_duration_seconds_count", route)] == 1
    records = _log_lines(log_path)
    # Probes log at debug level: the default (info) leaves them out.
    assert not any(r.get("request_id") == "cas-ready" for r in records)
    blob_lines = [r for r in records if r.get("route") == "/cas/v1/blobs/{digest}"]
    assert blob_lines[0]["request_id"] == blob.headers["X-Request-ID"]
