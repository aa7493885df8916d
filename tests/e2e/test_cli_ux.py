"""What a CI script sees from the installed CLI against a real server: JSON errors on
stderr with -o json, exit codes, run id prefixes, pages of runs, CHAINPROOF_URL forms and
progress lines in a log."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli, Server


def _error(stderr: str) -> dict[str, Any]:
    document = json.loads(stderr)  # all of stderr is the one JSON document
    assert set(document) == {"error"} and set(document["error"]) >= {"code", "message", "hint"}
    return dict(document["error"])


def _runs(cli: Cli, project: str, count: int) -> list[str]:
    """``count`` runs of ``project`` (each started and reset), newest first."""
    for _ in range(count):
        cli("attestation", "init", "--workflow", "build", "--project", project)
        cli("attestation", "reset")
    listed = cli.json("workflow", "run", "list", "--project", project)
    assert isinstance(listed, list) and len(listed) == count
    return [str(run["id"]) for run in listed]


def test_errors_are_json_on_stderr_with_o_json(cli: Cli) -> None:
    missing = cli("workflow", "run", "describe", "--id", "nope", "-o", "json", check=False)
    assert missing.returncode == 3 and missing.stdout == ""
    assert _error(missing.stderr)["code"] == "not_found"
    cli("project", "create", "--name", "twice")
    again = cli("project", "create", "--name", "twice", "-o", "json", check=False)
    assert again.returncode == 5
    assert _error(again.stderr) == {
        "code": "conflict",
        "message": "project 'twice' already exists",
        "hint": None,
        "details": {},
    }
    usage = cli("workflow", "run", "list", "--limit", "0", "--output=json", check=False)
    assert usage.returncode == 2 and _error(usage.stderr)["code"] == "usage_error"
    people = cli("project", "create", "--name", "twice", check=False)
    assert people.returncode == 5 and people.stderr.startswith("Error: project 'twice'")


def test_attestation_init_twice_is_a_conflict(cli: Cli) -> None:
    cli("attestation", "init", "--workflow", "build", "--project", "init-twice")
    twice = cli("attestation", "init", "--workflow", "build", "--project", "init-twice",
                "-o", "json", check=False)  # fmt: skip
    assert twice.returncode == 5
    error = _error(twice.stderr)
    assert error["code"] == "conflict" and "--replace" in str(error["hint"])
    cli("attestation", "reset")


def test_run_ids_by_unique_prefix(cli: Cli) -> None:
    (run_id,) = _runs(cli, "prefixes", 1)
    shown = cli.json("workflow", "run", "describe", "--id", run_id[:8])
    assert isinstance(shown, dict) and shown["id"] == run_id
    short = cli("workflow", "run", "describe", "--id", run_id[:3], "-o", "json", check=False)
    assert short.returncode == 2 and _error(short.stderr)["code"] == "invalid_input"


def test_run_list_pages_with_next(cli: Cli) -> None:
    newest_first = _runs(cli, "paged", 3)
    first = cli("workflow", "run", "list", "--project", "paged", "--limit", "2", "-o", "json")
    assert [r["id"] for r in json.loads(first.stdout)] == newest_first[:2]
    cursor = json.loads(first.stderr)["next_cursor"]
    rest = cli("workflow", "run", "list", "--project", "paged", "--limit", "2",
               "--next", cursor, "-o", "json")  # fmt: skip
    assert [r["id"] for r in json.loads(rest.stdout)] == newest_first[2:]
    assert rest.stderr == ""
    table = cli("workflow", "run", "list", "--project", "paged", "--limit", "1")
    assert "More runs: add --next " in table.stderr


def test_url_with_the_api_path_is_the_server_root(cli: Cli, server: Server) -> None:
    listed = cli("project", "list", "-o", "json", CHAINPROOF_URL=f"{server.url}/api/v1/")
    assert isinstance(json.loads(listed.stdout), list)
    bad = cli("project", "list", CHAINPROOF_URL=server.url.removeprefix("http://"), check=False)
    assert bad.returncode == 2 and "http://127.0.0.1:8000" in bad.stderr


def test_long_transfers_print_progress_lines_in_a_log(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    fast = {"CHAINPROOF_PROGRESS_INTERVAL": "0"}  # a line per chunk, not every 5 s
    cli("project", "create", "--name", "logs")
    up = cli("artifact", "upload", str(big), "--project", "logs", **fast)
    assert "uploading big.bin: 1.0 MB of 3.1 MB (33%)" in up.stderr.splitlines()
    assert "━" not in up.stderr
    digest = up.stdout.split()[0]
    down = cli("artifact", "download", digest, "--to", str(tmp_path / "copy.bin"), **fast)
    assert any(line.startswith("downloading copy.bin: ") for line in down.stderr.splitlines())
    assert (tmp_path / "copy.bin").read_bytes() == big.read_bytes()
    quiet = cli("artifact", "download", digest, "--to", str(tmp_path / "copy.bin"), "--force",
                "-o", "json", **fast)  # fmt: skip
    assert quiet.stderr == ""
    default = cli("artifact", "upload", str(big), "--project", "logs")
    assert "uploading" not in default.stderr  # under 5 s: no line
