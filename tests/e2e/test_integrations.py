"""`chainproof integration` against a server process whose in-process worker delivers to a
real signed-webhook receiver on loopback (SQLite; the delivery machinery is covered on both
databases by tests/integration/server/test_integrations.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Cli, Server, cli_for, start_server
from tests.e2e.test_attestation_flow import SBOM, _craft, _setup_workflow
from tests.receivers import Receiver


@pytest.fixture(scope="module")
def fast_delivery_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    extra = {"CHAINPROOF_DELIVERY_POLL_SECONDS": "0.2", "CHAINPROOF_FINDINGS_CHECK_SECONDS": "0"}
    yield from start_server(
        tmp_path_factory.mktemp("server"), run_expiry_seconds=600, extra_env=extra
    )


def _failed_run(cli: Cli) -> str:
    cli("attestation", "init", "--workflow", "build", "--project", "shop")
    run = cli.json("attestation", "reset", "--trigger", "failure", "--reason", "tests failed")
    assert isinstance(run, dict)
    return str(run["id"])


def _delivered(cli: Cli, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        rows = cli.json("integration", "deliveries", "--name", "hook")
        assert isinstance(rows, list)
        if sum(r["status"] == "delivered" for r in rows) >= count:
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)


def test_cli_registers_attaches_and_the_worker_delivers_signed_events(
    fast_delivery_server: Server, tmp_path: Path
) -> None:
    cli = cli_for(fast_delivery_server, tmp_path)
    receiver = Receiver()
    kinds = cli.json("integration", "available")
    assert isinstance(kinds, list) and "webhook" in {k["kind"] for k in kinds}
    url = f"{receiver.url}/webhook"
    added = cli(
        "integration",
        "add",
        "webhook",
        "--name",
        "hook",
        "--config",
        f"url={url}",
        "--secret-stdin",
        "-o",
        "json",
        stdin=receiver.secret + "\n",
    )
    assert receiver.secret not in added.stdout and '"has_secret": true' in added.stdout
    _failed_run(cli)  # before any attachment (it creates the project): nothing to deliver
    cli("integration", "attach", "--name", "hook", "--project", "shop", "--event", "run.failed")
    with receiver.running():
        run_id = _failed_run(cli)
        (row,) = _delivered(cli, 1)
        cli("integration", "redeliver", "--id", row["id"])
        _delivered(cli, 1)
        deadline = time.monotonic() + 10
        while not receiver.repeats and time.monotonic() < deadline:
            time.sleep(0.1)
    (event,) = receiver.events.values()
    assert event["type"] == "dev.chainproof.run.failed" and event["subject"] == run_id
    assert event["data"]["url"] == f"{fast_delivery_server.url}/api/v1/runs/{run_id}"
    assert receiver.repeats == [event["id"]] and receiver.refused == []
    described = cli("integration", "describe", "--name", "hook", "-o", "json").stdout
    listed = cli("integration", "list").stdout
    assert receiver.secret not in described + listed


def test_a_pushed_sbom_reaches_dependency_track_through_the_servers_worker(
    fast_delivery_server: Server, tmp_path: Path
) -> None:
    """The server's own worker reads the SBOM from its CAS and uploads it (app.py wiring)."""
    cli = cli_for(fast_delivery_server, tmp_path)
    table = cli("integration", "available", COLUMNS="250").stdout
    assert "dependency-track" in table and "run.succeeded, run.blocked" in table
    robot = _setup_workflow(cli, "dtrack")
    receiver = Receiver(secret="dt-api-key")
    config = ["--config", f"url={receiver.url}", "--config", "project_name={org}/{project}"]
    add = ["integration", "add", "dependency-track", "--name", "dt", *config, "--secret-stdin"]
    cli(*add, stdin=receiver.secret + "\n")
    cli("integration", "attach", "--name", "dt", "--project", "dtrack")
    with receiver.running():
        _craft(cli, robot, "dtrack")
        cli("attestation", "push", token=robot)
        deadline = time.monotonic() + 15
        while not receiver.boms:
            assert time.monotonic() < deadline, cli("integration", "deliveries", "--name", "dt")
            time.sleep(0.2)
    ((name, version, bom),) = receiver.boms
    org = cli.json("org", "describe")
    assert isinstance(org, dict)
    assert (name, version, bom) == (f"{org['name']}/dtrack", "latest", SBOM.read_bytes())
    assert receiver.refused == []
