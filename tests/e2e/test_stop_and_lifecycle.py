"""Day two through the installed CLI, on SQLite and PostgreSQL: an owner blocks a workflow
(or a project) while a job is mid-run, reads the audit log, renames, archives, deletes, and
sets a default contract for implicitly created workflows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import BOTH_DATABASES, Cli, Server, cli_for, start_server_on
from tests.e2e.test_attestation_flow import CONTRACT, _craft, _setup_workflow


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def stop_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("stop")
    yield from start_server_on(request.param, tmp, run_expiry_seconds=600)


@pytest.fixture
def owner(stop_server: Server, tmp_path: Path) -> Cli:
    return cli_for(stop_server, tmp_path)


def _json(cli: Cli, *args: str, token: str | None = None) -> Any:
    proc = cli(*args, "-o", "json", token=token)
    return json.loads(proc.stdout)


def test_block_stops_a_run_in_progress_and_new_runs(owner: Cli) -> None:
    robot = _setup_workflow(owner, "blk")
    _craft(owner, robot, "blk")  # the job is mid-run when the incident starts
    denied = owner(
        "workflow",
        "block",
        "--name",
        "build",
        "--project",
        "blk",
        "--reason",
        "x",
        token=robot,
        check=False,
    )
    assert denied.returncode == 3
    blocked = _json(
        owner, "workflow", "block", "--name", "build", "--project", "blk", "--reason", "incident 42"
    )
    assert blocked["blocked"] is True and blocked["block"]["reason"] == "incident 42"

    push = owner("attestation", "push", token=robot, check=False)
    assert push.returncode == 3, push.stderr
    assert "incident 42" in push.stderr and "workflow unblock" in push.stderr
    (run,) = _json(owner, "workflow", "run", "list", "--project", "blk", "--status", "failed")
    assert run["reason"] == "workflow blocked: incident 42"

    again = owner(
        "attestation", "init", "--workflow", "build", "--project", "blk", token=robot, check=False
    )
    assert again.returncode == 3 and "incident 42" in again.stderr
    listed = _json(owner, "workflow", "list", "--blocked")
    assert [(w["project"], w["name"]) for w in listed] == [("blk", "build")]
    table = owner("workflow", "list", "--blocked").stdout
    assert "incident 42" in table

    owner("workflow", "unblock", "--name", "build", "--project", "blk", "--reason", "fixed")
    assert _json(owner, "workflow", "list", "--blocked") == []
    owner("attestation", "init", "--workflow", "build", "--project", "blk", token=robot)
    owner("attestation", "reset", "--trigger", "cancellation", token=robot)

    events = _json(owner, "audit", "list", "--resource", "blk/build", "--action", "workflow")
    assert [(e["action"], e["data"].get("reason")) for e in events][:2] == [
        ("workflow.unblock", "fixed"),
        ("workflow.block", "incident 42"),
    ]
    refused = _json(owner, "audit", "list", "--action", "run.refused")
    assert refused and refused[0]["resource"] == run["id"]


def test_project_block_and_list(owner: Cli) -> None:
    owner("workflow", "create", "--name", "one", "--project", "frozen")
    owner("workflow", "create", "--name", "two", "--project", "frozen")
    owner("project", "block", "--name", "frozen", "--reason", "audit freeze")
    init = owner("attestation", "init", "--workflow", "two", "--project", "frozen", check=False)
    assert init.returncode == 3
    assert "project frozen is blocked: audit freeze" in init.stderr
    assert "project unblock --name frozen" in init.stderr
    projects = _json(owner, "project", "list", "--blocked")
    assert [p["name"] for p in projects] == ["frozen"]
    workflows = _json(owner, "workflow", "list", "--blocked", "--project", "frozen")
    assert {w["block"]["scope"] for w in workflows} == {"project"} and len(workflows) == 2
    described = _json(owner, "project", "describe", "--name", "frozen")
    assert described["block"]["reason"] == "audit freeze" and described["workflows"] == 2
    assert "audit freeze" in owner("project", "describe", "--name", "frozen").stdout
    again = owner("project", "block", "--name", "frozen", "--reason", "x", check=False)
    assert again.returncode == 5
    owner("project", "unblock", "--name", "frozen")
    assert _json(owner, "project", "list", "--blocked") == []


def test_rename_archive_delete(owner: Cli) -> None:
    owner("workflow", "create", "--name", "build", "--project", "life")
    owner("workflow", "create", "--name", "biuld", "--project", "life")
    owner("attestation", "init", "--workflow", "build", "--project", "life")
    busy = owner(
        "workflow", "rename", "--name", "build", "--project", "life", "--to", "x", check=False
    )
    assert busy.returncode == 5 and "in progress" in busy.stderr
    owner("attestation", "reset", "--trigger", "cancellation")

    renamed = _json(
        owner, "workflow", "rename", "--name", "build", "--project", "life", "--to", "release"
    )
    assert renamed["name"] == "release"
    assert _json(owner, "project", "rename", "--name", "life", "--to", "life2")["name"] == "life2"
    described = _json(owner, "workflow", "describe", "--name", "release", "--project", "life2")
    assert described["project"] == "life2"
    (run,) = _json(owner, "workflow", "run", "list", "--project", "life2")
    assert run["workflow"] == "release"

    has_runs = owner("workflow", "delete", "--name", "release", "--project", "life2", check=False)
    assert has_runs.returncode == 5 and "workflow archive" in has_runs.stderr
    owner("workflow", "delete", "--name", "biuld", "--project", "life2")
    gone = owner("workflow", "describe", "--name", "biuld", "--project", "life2", check=False)
    assert gone.returncode == 3

    owner("workflow", "archive", "--name", "release", "--project", "life2")
    assert _json(owner, "workflow", "list", "--project", "life2") == []
    archived = _json(owner, "workflow", "list", "--project", "life2", "--archived")
    assert [w["name"] for w in archived] == ["release"]
    assert len(_json(owner, "workflow", "list", "--project", "life2", "--all")) == 1
    init = owner("attestation", "init", "--workflow", "release", "--project", "life2", check=False)
    assert init.returncode == 5 and "workflow unarchive" in init.stderr
    owner("workflow", "unarchive", "--name", "release", "--project", "life2")
    assert [w["name"] for w in _json(owner, "workflow", "list", "--project", "life2")] == [
        "release"
    ]
    actions = {e["action"] for e in _json(owner, "audit", "list", "--action", "workflow")}
    assert {"workflow.rename", "workflow.delete", "workflow.archive"} <= actions


def test_update_contract_and_default_contract(owner: Cli) -> None:
    owner("workflow", "contract", "create", "--name", "baseline", "-f", str(CONTRACT))
    owner("workflow", "create", "--name", "build", "--project", "dflt")
    updated = _json(
        owner,
        "workflow",
        "update",
        "--name",
        "build",
        "--project",
        "dflt",
        "--contract",
        "baseline",
    )
    assert updated["contract"] == "baseline"

    org = _json(owner, "org", "update", "--default-contract", "baseline")
    assert org["default_contract"] == "baseline"
    assert "baseline" in owner("org", "describe").stdout
    try:
        owner("attestation", "init", "--workflow", "typo", "--project", "dflt")
        owner("attestation", "reset", "--trigger", "cancellation")
        typo = _json(owner, "workflow", "describe", "--name", "typo", "--project", "dflt")
        assert typo["contract"] == "baseline"
    finally:
        cleared = _json(owner, "org", "update", "--clear-default-contract")
    assert cleared["default_contract"] is None
    plain = _json(owner, "workflow", "create", "--name", "plain", "--project", "dflt")
    assert plain["contract"] == "dflt-plain"
    unknown = owner("org", "update", "--default-contract", "nope", check=False)
    assert unknown.returncode == 3


def test_audit_list_filters_pages_and_permissions(owner: Cli) -> None:
    for i in range(3):
        owner("project", "create", "--name", f"aud{i}")
    first = owner("audit", "list", "--action", "project.create", "--limit", "2", "-o", "json")
    page = json.loads(first.stdout)
    assert len(page) == 2
    cursor = json.loads(first.stderr.strip().splitlines()[-1])["next_cursor"]
    rest = _json(
        owner, "audit", "list", "--action", "project.create", "--limit", "50", "--next", cursor
    )
    names = [e["data"]["name"] for e in page + rest]
    assert names[:3] == ["aud2", "aud1", "aud0"] and len(names) == len(set(names))
    table = owner("audit", "list", "--action", "project.create", "--since", "1h")
    assert "project.create" in table.stdout and "aud2" in table.stdout
    assert _json(owner, "audit", "list", "--since", "2000-01-01", "--actor", "nobody") == []
    bad = owner("audit", "list", "--since", "yesterday", check=False)
    assert bad.returncode == 2
    robot = _json(owner, "api-token", "create", "--name", "aud-robot")["token"]
    denied = owner("audit", "list", token=robot, check=False)
    assert denied.returncode == 3


def test_runs_pushed_before_a_rename_still_verify(owner: Cli) -> None:
    robot = _setup_workflow(owner, "ren")
    _craft(owner, robot, "ren")
    owner("attestation", "push", token=robot)
    (run,) = _json(owner, "workflow", "run", "list", "--project", "ren")
    owner("workflow", "rename", "--name", "build", "--project", "ren", "--to", "shipped")
    owner("project", "rename", "--name", "ren", "--to", "renamed")
    report = _json(owner, "workflow", "run", "describe", "--id", run["id"], "--verify")
    assert report["workflow"] == "shipped" and report["project"] == "renamed"
    assert report["local_verification"]["verified"] is True
    assert report["local_verification"]["identity"].endswith(f"/ren/build/runs/{run['id']}")
