"""``workflow run describe --id PREFIX``: the server resolves the prefix once, the CLI then
reads by the full id; ambiguity exits 2 naming the candidates, no match exits 3."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi, problem
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

FULL = "3f2a9c1e-0000-4000-8000-000000000001"
OTHER = "3f2a9c1e-0000-4000-8000-000000000002"


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


def _cli(api: FakeApi, *args: str) -> Any:
    obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
    argv = ["--url", URL, "--token", TOKEN, *args]
    return CliRunner().invoke(app, argv, obj=obj, env={"CHAINPROOF_TOKEN": ""})


def test_a_prefix_is_resolved_then_read_by_full_id(api: FakeApi) -> None:
    run = {"id": FULL, "project": "shop", "workflow": "build", "status": "succeeded"}
    api.on("GET", "/api/v1/runs/3f2a", run)
    api.on("GET", f"/api/v1/runs/{FULL}", run)
    api.on("GET", f"/api/v1/runs/{FULL}/policy-evaluations", {"items": []})
    api.on("GET", f"/api/v1/runs/{FULL}/statement", {"subject": []})
    result = _cli(api, "workflow", "run", "describe", "--id", "3f2a", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == FULL
    paths = [r.url.path for r in api.requests]
    assert paths[0] == "/api/v1/runs/3f2a"
    assert all(FULL in p for p in paths[1:])
    statement = _cli(api, "workflow", "run", "describe", "--id", "3f2a", "-o", "statement")
    assert statement.exit_code == 0 and json.loads(statement.stdout) == {"subject": []}


def test_a_full_id_is_not_resolved_again(api: FakeApi) -> None:
    api.on("GET", f"/api/v1/runs/{FULL}", {"id": FULL})
    api.on("GET", f"/api/v1/runs/{FULL}/policy-evaluations", {"items": []})
    result = _cli(api, "workflow", "run", "describe", "--id", FULL, "-o", "json")
    assert result.exit_code == 0, result.output
    assert len(api.requests) == 2


def test_an_ambiguous_prefix_exits_2_listing_the_candidates(api: FakeApi) -> None:
    api.on(
        "GET",
        "/api/v1/runs/3f2a",
        lambda r: problem(
            400,
            "ambiguous_id",
            f"run id prefix '3f2a' matches several runs: {FULL}, {OTHER}",
            hint="give more characters of the run id",
            details={"candidates": [FULL, OTHER]},
        ),
    )
    result = _cli(api, "workflow", "run", "describe", "--id", "3f2a")
    assert result.exit_code == 2
    assert FULL in result.stderr and OTHER in result.stderr
    as_json = _cli(api, "workflow", "run", "describe", "--id", "3f2a", "-o", "json")
    error = json.loads(as_json.stderr)["error"]
    assert as_json.exit_code == 2 and error["code"] == "ambiguous_id"
    assert error["details"]["candidates"] == [FULL, OTHER]


def test_no_match_exits_3(api: FakeApi) -> None:
    result = _cli(api, "workflow", "run", "describe", "--id", "beef")
    assert result.exit_code == 3
