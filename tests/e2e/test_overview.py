"""``org overview`` and ``workflow run list`` filters with keyset ``--next``, from the
installed CLI against a server process on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Cli, Server, cli_for, start_server
from tests.pg import pg_database


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def any_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("server")
    if request.param == "sqlite":
        yield from start_server(tmp, run_expiry_seconds=600)
        return
    for url in pg_database():
        extra = {"CHAINPROOF_DATABASE_URL": url}
        yield from start_server(tmp, run_expiry_seconds=600, extra_env=extra)


def _history(cli: Cli) -> None:
    """shop/api: two pushed runs; shop/web: a failed one; docs/site: one in progress on
    version 2.0. All created implicitly, with the empty contract."""
    for _ in range(2):
        cli("attestation", "init", "--workflow", "api", "--project", "shop")
        cli("attestation", "push")
    cli("attestation", "init", "--workflow", "web", "--project", "shop")
    cli("attestation", "reset", "--trigger", "failure", "--reason", "tests failed")
    cli("attestation", "init", "--workflow", "site", "--project", "docs", "--version", "2.0")


def _runs(cli: Cli, *args: str) -> list[dict[str, Any]]:
    found = cli.json("workflow", "run", "list", *args)
    assert isinstance(found, list)
    return found


def test_overview_and_filtered_run_list(any_server: Server, tmp_path: Path) -> None:
    cli = cli_for(any_server, tmp_path)
    _history(cli)

    overview = cli.json("org", "overview")
    assert isinstance(overview, dict)
    assert overview["totals"] == {
        "projects": 2,
        "workflows": 3,
        "integrated": 3,
        "compliant": 1,
        "lagging": 0,
        "failing": 0,
        "unmanaged": 3,
        "blocked": 0,
        "open_findings": 3,  # one `unmanaged` drift finding each: their contracts ask nothing
    }
    api = next(w for p in overview["projects"] for w in p["workflows"] if w["name"] == "api")
    assert api["recent"] == "ss" and api["compliance"] == 1.0 and api["open_findings"] == 1
    assert api["last_run"]["status"] == "succeeded" and api["last_run"]["runner_type"]
    first = cli("org", "overview", "--limit", "2", "-o", "json")
    cursor = json.loads(first.stderr.strip().splitlines()[-1])["next_cursor"]
    rest = cli.json("org", "overview", "--limit", "2", "--next", cursor)
    assert isinstance(rest, dict) and rest["next_cursor"] is None
    paged = [w["name"] for body in (json.loads(first.stdout), rest)
             for p in body["projects"] for w in p["workflows"]]  # fmt: skip
    assert paged == ["site", "api", "web"]  # by project, then workflow name
    table = cli("org", "overview", "--project", "shop").stdout
    assert "Project shop" in table and "Project docs" not in table and "100%" in table

    assert [r["status"] for r in _runs(cli, "--status", "failed")] == ["failed"]
    assert [r["workflow"] for r in _runs(cli, "--version", "2.0")] == ["site"]
    assert len(_runs(cli, "--policy", "none", "--since", "1h")) == 4
    assert _runs(cli, "--until", "2000-01-01") == []
    runner = _runs(cli)[0]["runner_type"]
    assert len(_runs(cli, "--runner", runner, "--project", "shop")) == 3

    first = cli("workflow", "run", "list", "--project", "shop", "--limit", "2", "-o", "json")
    cursor = json.loads(first.stderr.strip().splitlines()[-1])["next_cursor"]
    rest = _runs(cli, "--project", "shop", "--limit", "2", "--next", cursor)
    seen = [r["id"] for r in json.loads(first.stdout)] + [r["id"] for r in rest]
    assert len(seen) == 3 and len(set(seen)) == 3
    assert seen == [r["id"] for r in _runs(cli, "--project", "shop")]

    bad = cli("workflow", "run", "list", "--since", "last tuesday", check=False)
    assert bad.returncode == 2 and "--since" in bad.stderr
