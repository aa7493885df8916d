"""scripts/backup.sh and scripts/restore.sh on a real installation (docs/deployment.md,
"Backup and restore"), on SQLite and on PostgreSQL.

A server takes a push (an SBOM into the filesystem CAS, the attestation into the log); the
backup runs while it serves. Then the data dir is deleted (and, on PostgreSQL, the database
dropped), the backup restored into a new data dir (a new, empty database), and a server
started on it: the run is there with the same bundle, its local verification and `chainproof
verify` pass, the SBOM downloads byte for byte, and the next push extends the same log.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.deploy_files import ROOT
from tests.e2e.conftest import Cli, _base_env, cli_for, init_server, run_server
from tests.e2e.test_attestation_flow import SBOM, _craft, _setup_workflow
from tests.pg import pg_database

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def _no_database() -> Iterator[None]:
    yield None


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "CHAINPROOF_PYTHON": sys.executable,
    }
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _push(cli: Cli, robot: str, bundle: Path) -> str:
    _craft(cli, robot, "bk")
    cli("attestation", "push", "--bundle", str(bundle), token=robot)
    runs = cli.json("workflow", "run", "list", "--project", "bk")
    assert isinstance(runs, list)
    return str(runs[0]["id"])


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_backup_wipe_restore_start(database: str, tmp_path: Path) -> None:
    old = contextlib.contextmanager(pg_database)() if database == "postgresql" else _no_database()
    new = contextlib.contextmanager(pg_database)() if database == "postgresql" else _no_database()
    env = _base_env(tmp_path)
    data_dir, backup = tmp_path / "data", tmp_path / "backup"
    (tmp_path / "cli").mkdir()
    with old as old_url:
        init_env = env | ({"CHAINPROOF_DATABASE_URL": old_url} if old_url else {})
        token = str(init_server(data_dir, init_env)["token"])  # config.toml keeps the URL
        with contextlib.contextmanager(run_server)(data_dir, env, token, tmp_path / "a.log") as a:
            cli = cli_for(a, tmp_path / "cli")
            robot = _setup_workflow(cli, "bk")
            run_id = _push(cli, robot, tmp_path / "bundle.json")
            made = _script("backup.sh", str(data_dir), str(backup))  # while it serves
        assert f"({database}, 1 CAS dir(s))" in made.stdout
    shutil.rmtree(data_dir)  # ...and the old database is dropped

    restored = tmp_path / "restored"
    with new as new_url:
        _script("restore.sh", str(backup), str(restored), *([new_url] if new_url else []))
        assert not data_dir.exists()
        with contextlib.contextmanager(run_server)(restored, env, token, tmp_path / "b.log") as b:
            cli = cli_for(b, tmp_path / "cli")
            described = cli.json("workflow", "run", "describe", "--id", run_id, "--verify")
            assert isinstance(described, dict)
            assert described["status"] == "succeeded"
            assert described["local_verification"]["verified"] is True
            stored = cli("workflow", "run", "describe", "--id", run_id, "-o", "bundle").stdout
            pushed = json.loads((tmp_path / "bundle.json").read_text())
            assert json.loads(stored) == pushed
            cli("verify", str(tmp_path / "bundle.json"))  # the org's trust root came back
            sbom = next(m for m in described["materials"] if m["name"] == "sbom")
            cli("artifact", "download", sbom["digest"], "--to", str(tmp_path / "sbom.json"))
            assert (tmp_path / "sbom.json").read_bytes() == SBOM.read_bytes()

            # The log goes on from where it was: the next push gets the next indexes.
            (tmp_path / "cli2").mkdir()
            again = cli_for(b, tmp_path / "cli2")
            _push(again, robot, tmp_path / "bundle2.json")
            second = json.loads((tmp_path / "bundle2.json").read_text())
            (entry,) = second["verificationMaterial"]["tlogEntries"]
            assert int(entry["logIndex"]) == 2  # 0, 1: the first push and its VSA


def test_backup_and_restore_refuse_a_non_empty_target(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("keep me")
    for name, args in (
        ("backup.sh", [str(tmp_path), str(busy)]),
        ("restore.sh", [str(tmp_path), str(busy)]),
    ):
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / name), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2 and f"{busy} is not empty" in done.stderr, done.stderr
    assert [p.name for p in busy.iterdir()] == ["something"]
