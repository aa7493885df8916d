"""``org overview`` renders the API's answer; ``workflow run list`` passes its filters as
query parameters, with --since/--until as RFC 3339 times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

OVERVIEW = {
    "totals": {
        "projects": 1,
        "workflows": 2,
        "integrated": 1,
        "compliant": 0,
        "lagging": 1,
        "failing": 0,
        "unmanaged": 1,
        "blocked": 1,
    },
    "projects": [
        {
            "name": "shop",
            "workflows": [
                {
                    "name": "api",
                    "owner": "payments",
                    "contract": {"name": "rel", "revision": 4},
                    "last_run": {
                        "id": "r1",
                        "status": "succeeded",
                        "created_at": "2026-12-01T08:00:00Z",
                        "runner_type": "GITHUB_ACTION",
                    },
                    "runs": 7,
                    "recent": "ssf",
                    "compliance": 0.25,
                    "compliant": False,
                    "lagging": True,
                    "failing": False,
                    "unmanaged": False,
                    "blocked": False,
                },
                {
                    "name": "typo",
                    "owner": None,
                    "contract": {"name": "shop-typo", "revision": 1},
                    "last_run": None,
                    "runs": 0,
                    "recent": "",
                    "compliance": None,
                    "compliant": False,
                    "lagging": False,
                    "failing": False,
                    "unmanaged": True,
                    "blocked": True,
                },
            ],
        }
    ],
    "window": {"recent_runs": 10, "failing_runs": 3},
}


def _cli(api: FakeApi, *args: str) -> Any:
    obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
    argv = ["--url", URL, "--token", TOKEN, *args]
    return CliRunner().invoke(app, argv, obj=obj, env={"CHAINPROOF_TOKEN": "", "COLUMNS": "200"})


def test_overview_json_is_the_api_answer_and_the_table_shows_standing() -> None:
    api = FakeApi()
    api.on("GET", "/api/v1/overview", lambda r: httpx.Response(200, json=OVERVIEW))
    out = _cli(api, "org", "overview", "-o", "json", "--project", "shop")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == OVERVIEW
    assert api.requests[0].url.params["project"] == "shop"
    table = _cli(api, "org", "overview")
    assert table.exit_code == 0, table.output
    assert "Project shop" in table.stdout and "25%" in table.stdout and "lagging" in table.stdout
    assert "rel r4" in table.stdout and "blocked, unmanaged" in table.stdout
    assert "never" in table.stdout and "Findings" not in table.stdout


def _listed(api: FakeApi, *args: str) -> httpx.QueryParams:
    api.on("GET", "/api/v1/runs", lambda r: httpx.Response(200, json={"items": []}))
    out = _cli(api, "workflow", "run", "list", *args, "-o", "json")
    assert out.exit_code == 0, out.output
    return api.requests[-1].url.params


def test_run_list_filters_become_query_parameters() -> None:
    params = _listed(
        FakeApi(),
        "--version",
        "2.0",
        "--runner",
        "GENERIC",
        "--policy",
        "violated",
        "--since",
        "2026-11-01",
        "--until",
        "2026-12-01T08:00:00Z",
    )
    assert params["version"] == "2.0" and params["runner"] == "GENERIC"
    assert params["policy"] == "violated"
    assert params["since"] == "2026-11-01T00:00:00+00:00"
    assert params["until"] == "2026-12-01T08:00:00+00:00"


def test_since_takes_an_age() -> None:
    params = _listed(FakeApi(), "--since", "7d")
    since = datetime.fromisoformat(params["since"])
    assert abs(since - (datetime.now(UTC) - timedelta(days=7))) < timedelta(minutes=1)


def test_a_bad_time_is_a_usage_error() -> None:
    out = _cli(FakeApi(), "workflow", "run", "list", "--until", "soon")
    assert out.exit_code == 2 and "--until" in out.output
    out = _cli(FakeApi(), "workflow", "run", "list", "--policy", "green")
    assert out.exit_code == 2


def test_overview_pages_print_the_next_cursor_on_stderr() -> None:
    api = FakeApi()
    paged = {**OVERVIEW, "next_cursor": "bzoy"}
    api.on("GET", "/api/v1/overview", lambda r: httpx.Response(200, json=paged))
    out = _cli(api, "org", "overview", "--limit", "2", "--next", "bzow", "-o", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == paged and json.loads(out.stderr) == {"next_cursor": "bzoy"}
    assert api.requests[0].url.params["limit"] == "2"
    assert api.requests[0].url.params["cursor"] == "bzow"
    table = _cli(api, "org", "overview")
    assert "More workflows: add --next bzoy" in table.stderr
