"""N API processes and one worker (docs/deployment.md, "Processes").

`server start --no-jobs` (or CHAINPROOF_RUN_JOBS=false) serves the API without the periodic
jobs; `server worker` runs only the jobs, over the same data dir and database. An unpushed
run does not expire while only the API runs, and expires once the worker is started beside it.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.e2e.conftest import CLI, Cli, _base_env, cli_for, init_server, run_server
from tests.e2e.test_attestation_flow import _setup_workflow

pytestmark = pytest.mark.e2e


def _statuses(cli: Cli, project: str) -> list[str]:
    runs = cli.json("workflow", "run", "list", "--project", project)
    assert isinstance(runs, list)
    return [r["status"] for r in runs]


def test_api_without_jobs_leaves_expiry_to_the_worker(tmp_path: Path) -> None:
    env = _base_env(tmp_path) | {
        "CHAINPROOF_RUN_EXPIRY_SECONDS": "2",
        "CHAINPROOF_EXPIRY_CHECK_SECONDS": "0.5",
    }
    data_dir = tmp_path / "data"
    token = str(init_server(data_dir, env)["token"])
    # CHAINPROOF_RUN_JOBS=false is `server start --no-jobs` (the units and the chart use the flag).
    api_env = env | {"CHAINPROOF_RUN_JOBS": "false"}
    with contextlib.contextmanager(run_server)(
        data_dir, api_env, token, tmp_path / "api.log"
    ) as api:
        (tmp_path / "cli").mkdir()
        cli = cli_for(api, tmp_path / "cli")
        robot = _setup_workflow(cli, "topo")
        cli("attestation", "init", "--workflow", "build", "--project", "topo", token=robot)
        time.sleep(4)  # twice the expiry, eight expiry intervals: no job in the API process
        assert _statuses(cli, "topo") == ["initialized"]

        log = open(tmp_path / "worker.log", "wb")
        worker = subprocess.Popen(
            [CLI, "server", "worker", "--data-dir", str(data_dir)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while _statuses(cli, "topo") != ["expired"]:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker did not expire the run"
                time.sleep(0.5)
            # SIGTERM stops the worker cleanly: its lifespan ends, the process exits 0.
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0, (tmp_path / "worker.log").read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            log.close()
    assert "periodic jobs only" in (tmp_path / "worker.log").read_text()
    assert "periodic jobs off" in (tmp_path / "api.log").read_text()
