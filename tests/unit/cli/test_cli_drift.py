"""`chainproof drift` in-process over a fake API: what it asks for and how it shows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

FINDING = {
    "id": "3f2c9a1e-0000-4000-8000-000000000001",
    "kind": "failing",
    "severity": "high",
    "status": "open",
    "workflow": "nightly",
    "project": "shop",
    "owner": "payments",
    "opened_at": "2026-12-07T02:55:13Z",
    "closed_at": None,
    "evidence": ["9b1d20aa-1111-4000-8000-000000000000", "77c0e1f2-2222-4000-8000-000000000000"],
    "details": {"statuses": ["failed", "expired"]},
    "acknowledged_at": None,
    "acknowledged_by": None,
    "acknowledged_reason": None,
}


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def cli(api: FakeApi) -> Callable[..., Any]:
    def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
        obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
        argv = ["--url", URL, "--token", TOKEN, *args]
        return CliRunner().invoke(app, argv, obj=obj, env={"CHAINPROOF_TOKEN": "", **(env or {})})

    return invoke


def test_list_asks_for_open_findings_and_shows_a_readable_table(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/findings", {"items": [FINDING], "next_cursor": None})
    result = cli("drift", "list", "--kind", "failing", "--project", "shop", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    params = api.requests[-1].url.params
    assert params["kind"] == "failing" and params["project"] == "shop"
    assert params["status"] == "open"
    for text in ("3f2c9a1e", "failing", "high", "shop/nightly", "payments", "2026-12-07 02:55"):
        assert text in result.stdout
    assert "9b1d20aa 77c0e1f2" in result.stdout
    assert "3f2c9a1e-0000" not in result.stdout  # ids shortened as git does


def test_list_all_includes_closed_ones(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/findings", {"items": [], "next_cursor": None})
    assert cli("drift", "list", "--all", "-o", "json").stdout.strip() == "[]"
    assert api.requests[-1].url.params["status"] == "all"


def test_acknowledge_sends_the_reason(cli: Any, api: FakeApi) -> None:
    acked = {**FINDING, "acknowledged_reason": "flaky", "acknowledged_by": "owner"}
    api.on("POST", f"/api/v1/findings/{FINDING['id'][:8]}/acknowledge", acked)
    result = cli("drift", "acknowledge", "--id", FINDING["id"][:8], "--reason", "flaky")
    assert result.exit_code == 0, result.output
    assert api.body() == {"reason": "flaky"}


def test_cadence_takes_a_duration_or_learn_but_not_both(cli: Any, api: FakeApi) -> None:
    path = "/api/v1/workflows/shop/nightly/cadence"
    api.on("PUT", path, {"project": "shop", "workflow": "nightly", "cadence_seconds": 604800})
    base = ("drift", "cadence", "-p", "shop", "--workflow", "nightly")
    assert cli(*base, "--every", "7d").exit_code == 0
    assert api.body() == {"cadence_seconds": 7 * 86400}
    assert cli(*base).exit_code == 2
    assert cli(*base, "--every", "7d", "--learn").exit_code == 2
    assert cli(*base, "--every", "soon").exit_code == 2
    assert len(api.requests) == 1
    assert cli(*base, "--learn").exit_code == 0
    assert api.body() == {"cadence_seconds": None}
