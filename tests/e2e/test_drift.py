"""`chainproof drift`: findings produced by real CLI runs against a server process, listed,
acknowledged and closed (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import Cli, Server, cli_for, start_server
from tests.pg import pg_database


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def drift_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on SQLite or PostgreSQL (the periodic findings job off: runs drive it)."""
    extra = {"CHAINPROOF_FINDINGS_CHECK_SECONDS": "0"}
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(contextlib.contextmanager(pg_database)())
            extra["CHAINPROOF_DATABASE_URL"] = url
        yield from start_server(
            tmp_path_factory.mktemp("server"), run_expiry_seconds=600, extra_env=extra
        )


def _findings(cli: Cli, *args: str) -> list[dict[str, Any]]:
    found = cli.json("drift", "list", *args)
    assert isinstance(found, list)
    return found


def _fail(cli: Cli, workflow: str) -> str:
    cli("attestation", "init", "--workflow", workflow, "--project", "shop")
    run = cli.json("attestation", "reset", "--trigger", "failure", "--reason", "tests failed")
    assert isinstance(run, dict) and run["status"] == "failed"
    return str(run["id"])


def test_typo_workflow_is_unmanaged_and_failures_become_a_finding(
    drift_server: Server, tmp_path: Path
) -> None:
    cli = cli_for(drift_server, tmp_path)
    # A typo in --workflow creates a workflow with the empty contract: unmanaged at once.
    first = _fail(cli, "nigthly")
    (unmanaged,) = _findings(cli, "--workflow", "nigthly")
    assert unmanaged["kind"] == "unmanaged" and unmanaged["severity"] == "medium"
    assert unmanaged["project"] == "shop" and unmanaged["closed_at"] is None

    second, third = _fail(cli, "nigthly"), _fail(cli, "nigthly")
    (failing,) = _findings(cli, "--kind", "failing", "--project", "shop")
    assert failing["severity"] == "high" and failing["workflow"] == "nigthly"
    assert failing["evidence"] == [third, second, first]

    table = cli("drift", "list", "--workflow", "nigthly", COLUMNS="200").stdout
    for text in ("failing", "high", "unmanaged", "shop/nigthly", failing["id"][:8], third[:8]):
        assert text in table

    # Owners acknowledge with a reason; robots may not.
    robot = cli.json("api-token", "create", "--name", "drift-ci", "--project", "shop")
    assert isinstance(robot, dict)
    denied = cli(
        "drift",
        "acknowledge",
        "--id",
        failing["id"],
        "--reason",
        "x",
        token=robot["token"],
        check=False,
    )
    assert denied.returncode == 3, denied.stderr
    short = failing["id"][:8]  # the prefix the table shows is enough
    acked = cli.json("drift", "acknowledge", "--id", short, "--reason", "flaky runner")
    assert isinstance(acked, dict)
    assert acked["acknowledged_reason"] == "flaky runner" and acked["acknowledged_at"]
    assert "flaky runner" in cli("drift", "list", "--kind", "failing", COLUMNS="200").stdout
    empty = cli("drift", "acknowledge", "--id", failing["id"], "--reason", " ", check=False)
    assert empty.returncode == 2, empty.stderr

    # A successful run closes the failing finding (the empty contract asks for nothing).
    cli("attestation", "init", "--workflow", "nigthly", "--project", "shop")
    cli("attestation", "push")
    assert [f["kind"] for f in _findings(cli, "--workflow", "nigthly")] == ["unmanaged"]
    closed = [f for f in _findings(cli, "--all", "--kind", "failing") if f["closed_at"]]
    assert [f["id"] for f in closed] == [failing["id"]]
    assert closed[0]["acknowledged_reason"] == "flaky runner"
    gone = cli("drift", "acknowledge", "--id", failing["id"], "--reason", "late", check=False)
    assert gone.returncode == 5, gone.stderr


def test_cadence_is_set_and_unset(drift_server: Server, tmp_path: Path) -> None:
    cli = cli_for(drift_server, tmp_path)
    _fail(cli, "weekly")
    set_ = cli.json(
        "drift", "cadence", "--project", "shop", "--workflow", "weekly", "--every", "7d"
    )
    assert set_ == {"project": "shop", "workflow": "weekly", "cadence_seconds": 7 * 86400}
    learned = cli.json("drift", "cadence", "--project", "shop", "--workflow", "weekly", "--learn")
    assert isinstance(learned, dict) and learned["cadence_seconds"] is None
    both = cli(
        "drift",
        "cadence",
        "--project",
        "shop",
        "--workflow",
        "weekly",
        "--every",
        "1d",
        "--learn",
        check=False,
    )
    assert both.returncode == 2
    bad = cli(
        "drift", "cadence", "-p", "shop", "--workflow", "weekly", "--every", "soon", check=False
    )
    assert bad.returncode == 2 and "--every" in bad.stderr
    missing = cli(
        "drift", "cadence", "-p", "shop", "--workflow", "nope", "--every", "1d", check=False
    )
    assert missing.returncode == 3


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def busy_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server whose findings job runs every second, on SQLite or PostgreSQL."""
    extra = {"CHAINPROOF_FINDINGS_CHECK_SECONDS": "1"}
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(contextlib.contextmanager(pg_database)())
            extra["CHAINPROOF_DATABASE_URL"] = url
        yield from start_server(
            tmp_path_factory.mktemp("server"), run_expiry_seconds=600, extra_env=extra
        )


def test_the_servers_periodic_job_closes_what_runs_did_not(
    busy_server: Server, tmp_path: Path
) -> None:
    cli = cli_for(busy_server, tmp_path)
    _fail(cli, "scratch")
    (unmanaged,) = _findings(cli, "--workflow", "scratch")
    contract = Path(__file__).parent.parent / "assets" / "e2e" / "contract.yaml"
    cli("workflow", "contract", "create", "--name", "release", "-f", str(contract))
    reply = httpx.patch(
        f"{busy_server.url}/api/v1/workflows/shop/scratch",
        json={"contract": "release"},
        headers={"Authorization": f"Bearer {busy_server.owner_token}"},
    )
    assert reply.status_code == 200, reply.text
    deadline = time.monotonic() + 30
    while _findings(cli, "--workflow", "scratch"):  # no run since: only the job can close it
        assert time.monotonic() < deadline, "the findings job did not close the finding"
        time.sleep(0.5)
    (closed,) = _findings(cli, "--workflow", "scratch", "--all")
    assert closed["id"] == unmanaged["id"] and closed["closed_at"]


def test_drift_list_pages_with_next(drift_server: Server, tmp_path: Path) -> None:
    cli = cli_for(drift_server, tmp_path)
    for name in ("one", "two", "three"):  # typos: each new workflow is unmanaged
        cli("attestation", "init", "--workflow", name, "--project", "paged")
        cli("attestation", "reset", "--trigger", "cancellation")
    whole = _findings(cli, "--project", "paged")
    assert [f["workflow"] for f in whole] == ["three", "two", "one"]
    first = cli("drift", "list", "--project", "paged", "--limit", "2", "-o", "json")
    assert [f["workflow"] for f in json.loads(first.stdout)] == ["three", "two"]
    cursor = json.loads(first.stderr.strip().splitlines()[-1])["next_cursor"]
    rest = _findings(cli, "--project", "paged", "--limit", "2", "--next", cursor)
    assert [f["workflow"] for f in rest] == ["one"]
    table = cli("drift", "list", "--project", "paged", "--limit", "1")
    assert "--next" in table.stderr
