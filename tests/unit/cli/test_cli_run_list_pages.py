"""``workflow run list --limit N --next CURSOR``: one page at a time, the next cursor on
stderr (a hint line, or a JSON line with -o json), stdout's JSON array unchanged."""

from __future__ import annotations

import json
from typing import Any

import httpx
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi, problem
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

RUNS = [{"id": f"r{i}", "status": "succeeded"} for i in range(5)]
SERVER_MAX = 2  # the fake server's largest page


def _paged(request: httpx.Request) -> httpx.Response:
    """The server's paging: an offset cursor ``c<N>``, ``limit`` per page."""
    start = int(request.url.params.get("cursor", "c0")[1:])
    limit = min(int(request.url.params["limit"]), SERVER_MAX)
    end = start + limit
    nxt = f"c{end}" if end < len(RUNS) else None
    return httpx.Response(200, json={"items": RUNS[start:end], "next_cursor": nxt})


def _cli(api: FakeApi, *args: str) -> Any:
    obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
    argv = ["--url", URL, "--token", TOKEN, *args]
    return CliRunner().invoke(app, argv, obj=obj, env={"CHAINPROOF_TOKEN": ""})


def test_json_pages_keep_the_array_and_put_the_cursor_on_stderr() -> None:
    api = FakeApi()
    api.on("GET", "/api/v1/runs", _paged)
    first = _cli(api, "workflow", "run", "list", "--limit", "2", "-o", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == RUNS[:2]
    assert json.loads(first.stderr) == {"next_cursor": "c2"}
    second = _cli(api, "workflow", "run", "list", "--limit", "2", "--next", "c2", "-o", "json")
    assert json.loads(second.stdout) == RUNS[2:4]
    assert json.loads(second.stderr) == {"next_cursor": "c4"}
    last = _cli(api, "workflow", "run", "list", "--limit", "2", "--next", "c4", "-o", "json")
    assert json.loads(last.stdout) == RUNS[4:]
    assert last.stderr == ""  # the last page: no cursor
    assert api.requests[1].url.params["cursor"] == "c2"


def test_table_prints_a_hint_with_the_next_cursor() -> None:
    api = FakeApi()
    api.on("GET", "/api/v1/runs", _paged)
    page = _cli(api, "workflow", "run", "list", "--limit", "3", "--status", "succeeded")
    assert page.exit_code == 0, page.output
    assert "r0" in page.stdout and "r3" not in page.stdout
    assert page.stderr == "More runs: add --next c3 for the next page.\n"
    assert api.requests[0].url.params["status"] == "succeeded"


def test_a_page_larger_than_the_servers_follows_its_pages() -> None:
    api = FakeApi()
    api.on("GET", "/api/v1/runs", _paged)
    three = _cli(api, "workflow", "run", "list", "--limit", "3", "-o", "json")
    assert json.loads(three.stdout) == RUNS[:3]
    assert json.loads(three.stderr) == {"next_cursor": "c3"}  # right after the third
    assert [r.url.params["limit"] for r in api.requests] == ["3", "1"]
    everything = _cli(api, "workflow", "run", "list", "--limit", "200", "-o", "json")
    assert json.loads(everything.stdout) == RUNS
    assert everything.stderr == ""


def test_a_bad_cursor_is_bad_input() -> None:
    api = FakeApi()
    api.on(
        "GET",
        "/api/v1/runs",
        lambda r: problem(400, "invalid_input", "invalid cursor", hint="pass next_cursor"),
    )
    result = _cli(api, "workflow", "run", "list", "--next", "garbage", "-o", "json")
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["message"] == "invalid cursor"
