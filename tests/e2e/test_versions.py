"""Project versions through the installed CLI, on SQLite and PostgreSQL: a release job's
`attestation push --release`, `project version release` and `list`, and the organisation's
refusal of new runs on released versions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import BOTH_DATABASES, Cli, Server, cli_for, start_server_on


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def versions_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("versions")
    yield from start_server_on(request.param, tmp, run_expiry_seconds=600)


def _versions(cli: Cli, *args: str) -> dict[str, dict[str, Any]]:
    listed = cli.json("project", "version", "list", "--project", "shop", *args)
    assert isinstance(listed, list)
    return {v["version"]: v for v in listed}


def _init(cli: Cli, version: str | None, check: bool = True) -> Any:
    extra = ("--version", version) if version else ()
    return cli(
        "attestation", "init", "--workflow", "build", "--project", "shop", *extra, check=check
    )


def test_release_by_push_and_by_command_then_refusal(
    versions_server: Server, tmp_path: Path
) -> None:
    cli = cli_for(versions_server, tmp_path)
    _init(cli, "1.0")
    cli("attestation", "push")
    (first,) = _versions(cli).values()
    assert first["version"] == "1.0" and first["prerelease"] is True and first["runs"] == 1

    # The release job pushes with --release.
    _init(cli, "1.0")
    pushed = cli("attestation", "push", "--release")
    assert "Version 1.0 released at" in pushed.stdout
    released = _versions(cli)["1.0"]
    assert released["prerelease"] is False and released["released_by"]
    assert (released["runs"], released["compliance"]) == (2, 1.0)
    table = cli("project", "version", "list", "--project", "shop", COLUMNS="200").stdout
    assert "released" in table and "100% (2/2)" in table

    # A push --release of a run without a version is refused before anything is signed.
    _init(cli, None)
    no_version = cli("attestation", "push", "--release", check=False)
    assert no_version.returncode == 2 and "no project version" in no_version.stderr
    cli("attestation", "reset", "--trigger", "cancellation")

    # An owner releases a version by hand, once.
    _init(cli, "2.0")  # a job is mid-run when 2.0 is released
    cli("project", "version", "release", "--project", "shop", "--version", "2.0")
    again = cli(
        "project", "version", "release", "--project", "shop", "--version", "2.0", check=False
    )
    assert again.returncode == 5 and "already released" in again.stderr
    missing = cli("project", "version", "release", "-p", "shop", "--version", "9", check=False)
    assert missing.returncode == 3

    # The organisation refuses new runs, and late pushes, on released versions.
    cli("org", "update", "--refuse-released-versions")
    assert "refused (no new runs)" in cli("org", "describe").stdout
    late = cli("attestation", "push", check=False)
    assert late.returncode == 5, late.stderr
    assert "version 2.0 of project shop was released at" in late.stderr
    cli("attestation", "reset", "--trigger", "cancellation")
    refused = _init(cli, "1.0", check=False)
    assert refused.returncode == 5
    assert f"released at {released['released_at']}" in refused.stderr
    assert "--allow-released-versions" in refused.stderr
    as_json = cli(
        "attestation",
        "init",
        "--workflow",
        "build",
        "--project",
        "shop",
        "--version",
        "1.0",
        "-o",
        "json",
        check=False,
    )
    error = json.loads(as_json.stderr)["error"]
    assert as_json.returncode == 5 and error["code"] == "version_released"
    assert error["details"]["version"] == "1.0"
    _init(cli, "2.1")  # a new version is a prerelease: it takes runs
    cli("attestation", "push")
    cli("org", "update", "--allow-released-versions")
    _init(cli, "1.0")
    cli("attestation", "push")

    events = cli.json("audit", "list", "--action", "project_version.release")
    assert isinstance(events, list)
    assert sorted(e["resource_name"] for e in events) == ["shop@1.0", "shop@2.0"]
    assert {e["actor"] for e in events} == {released["released_by"]}

    # Versions page newest first, the cursor on stderr.
    page = cli("project", "version", "list", "-p", "shop", "--limit", "2", "-o", "json")
    assert [v["version"] for v in json.loads(page.stdout)] == ["2.1", "2.0"]
    cursor = json.loads(page.stderr.strip().splitlines()[-1])["next_cursor"]
    rest = _versions(cli, "--limit", "2", "--next", cursor)
    assert list(rest) == ["1.0"]
