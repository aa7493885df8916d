"""`chainproof project version` and `drift list --next` in-process over a fake API: what they
ask for, how they show it, and where the next cursor goes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi, problem
from tests.unit.cli.test_cli_drift import FINDING
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

RELEASED = {
    "version": "1.2.0",
    "prerelease": False,
    "released_at": "2026-12-07T04:00:00Z",
    "released_by": "alice",
    "created_at": "2026-12-01T10:00:00Z",
    "runs": 5,
    "finished_runs": 4,
    "succeeded_runs": 3,
    "compliance": 0.75,
}
PRERELEASE = {
    **RELEASED,
    "version": "1.3.0-rc1",
    "prerelease": True,
    "released_at": None,
    "released_by": None,
    "runs": 1,
    "finished_runs": 0,
    "succeeded_runs": 0,
    "compliance": None,
}


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def cli(api: FakeApi) -> Callable[..., Any]:
    def invoke(*args: str) -> Any:
        obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
        argv = ["--url", URL, "--token", TOKEN, *args]
        env = {"CHAINPROOF_TOKEN": "", "COLUMNS": "200"}
        return CliRunner().invoke(app, argv, obj=obj, env=env)

    return invoke


def test_version_list_shows_state_runs_and_compliance(cli: Any, api: FakeApi) -> None:
    page = {"items": [PRERELEASE, RELEASED], "next_cursor": None}
    api.on("GET", "/api/v1/projects/shop/versions", page)
    result = cli("project", "version", "list", "--project", "shop")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rc = next(line for line in lines if "1.3.0-rc1" in line)
    assert "prerelease" in rc and "alice" not in rc
    released = next(line for line in lines if "1.2.0 " in line)
    for text in ("released 2026-12-07 04:00", "alice", "75% (3/4)"):
        assert text in released
    assert result.stderr == ""


def test_version_list_pages_with_next(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/projects/shop/versions", {"items": [RELEASED], "next_cursor": "k1"})
    first = cli("project", "version", "list", "-p", "shop", "--limit", "1", "-o", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == [RELEASED]
    assert json.loads(first.stderr) == {"next_cursor": "k1"}
    assert api.requests[-1].url.params["limit"] == "1"
    table = cli("project", "version", "list", "-p", "shop", "--limit", "1", "--next", "k1")
    assert api.requests[-1].url.params["cursor"] == "k1"
    assert "--next k1" in table.stderr


def test_version_release_escapes_the_version_and_reports_conflicts(cli: Any, api: FakeApi) -> None:
    api.on("POST", "/api/v1/projects/shop/versions/release/2.0/release", RELEASED)
    done = cli("project", "version", "release", "--project", "shop", "--version", "release/2.0")
    assert done.exit_code == 0, done.output
    assert api.requests[-1].url.raw_path == b"/api/v1/projects/shop/versions/release%2F2.0/release"
    assert "Version released" in done.stdout

    def conflict(request: httpx.Request) -> httpx.Response:
        return problem(409, "conflict", "version 1.2.0 of project shop was already released")

    api.on("POST", "/api/v1/projects/shop/versions/1.2.0/release", conflict)
    again = cli("project", "version", "release", "-p", "shop", "--version", "1.2.0")
    assert again.exit_code == 5 and "already released" in again.stderr


def test_org_update_turns_the_refusal_of_released_versions_on_and_off(
    cli: Any, api: FakeApi
) -> None:
    org = {"id": "o1", "name": "acme", "refuse_released_versions": True}
    api.on("PATCH", "/api/v1/org", org)
    assert cli("org", "update", "--refuse-released-versions").exit_code == 0
    assert api.body() == {"refuse_released_versions": True}
    shown = cli("org", "update", "--allow-released-versions")
    assert api.body() == {"refuse_released_versions": False}
    assert "refused (no new runs)" in shown.stdout


def test_drift_list_pages_with_next(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/findings", {"items": [FINDING], "next_cursor": "k2"})
    first = cli("drift", "list", "--limit", "1", "-o", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == [FINDING]
    assert json.loads(first.stderr) == {"next_cursor": "k2"}
    assert api.requests[-1].url.params["limit"] == "1"
    table = cli("drift", "list", "--limit", "1", "--next", "k2", "--kind", "failing")
    params = api.requests[-1].url.params
    assert params["cursor"] == "k2" and params["kind"] == "failing"
    assert "More findings: add --next k2" in table.stderr
