"""deploy/systemd: `systemd-analyze verify` accepts the units, and their ExecStart command
lines, with the environment file example's settings, start a working API (template instance =
port, without jobs, CHAINPROOF_WORKERS processes) and worker.

The units name /opt/chainproof/bin/chainproof and /var/lib/chainproof; the tests point them
at this venv's `chainproof` and a data dir made by `server init` (what StateDirectory= gives
the service). systemd itself does not start them here (no systemd as PID 1 in our sandboxes):
the command lines are run directly.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from tests.deploy_files import DEPLOY
from tests.e2e.conftest import CLI, _base_env, _free_port, init_server

from chainproof.server.settings import Settings, env_name, field_extra

pytestmark = pytest.mark.e2e

UNITS = DEPLOY / "systemd"
INSTALLED_CLI = "/opt/chainproof/bin/chainproof"
STATE_DIR = "/var/lib/chainproof"


def _service(name: str) -> configparser.SectionProxy:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string((UNITS / name).read_text())
    return unit["Service"]


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze not found: apt-get install systemd"
    for unit in UNITS.iterdir():
        # verify checks that ExecStart's program exists: this venv's chainproof stands in.
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_CLI, CLI))
    names = ["chainproof-api@8000.service", "chainproof-worker.service", "chainproof.target"]
    out = subprocess.run(
        [analyze, "verify", *(f"./{n}" for n in names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Any warning (an unknown key, a missing program, a bad value) fails the test.
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")


def test_units_run_as_a_service_user_in_a_private_state_dir() -> None:
    for name in ("chainproof-api@.service", "chainproof-worker.service"):
        service = _service(name)
        assert service["User"] == "chainproof"
        assert service["StateDirectory"] == "chainproof"
        assert service["StateDirectoryMode"] == "0700"
        assert service["NoNewPrivileges"] == "yes"
        assert service["ProtectSystem"] == "strict"


def _env_file(workers: int) -> dict[str, str]:
    """chainproof.env.example's settings as systemd's EnvironmentFile= reads them, with
    ``workers`` API processes and no database URL (the tests' data dir is SQLite's)."""
    values = {}
    for line in (UNITS / "chainproof.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    assert values["CHAINPROOF_WORKERS"] == "1"  # the example's default: one process
    del values["CHAINPROOF_DATABASE_URL"]
    return values | {"CHAINPROOF_WORKERS": str(workers)}


def test_env_file_example_names_only_real_settings() -> None:
    names = _env_file(1).keys() | {"CHAINPROOF_DATABASE_URL"}
    known = {
        env_name(field)
        for field in Settings.model_fields
        if field_extra(field).get("env") is not False
    }
    assert names - known == set()
    for name in (
        "CHAINPROOF_WORKERS",
        "CHAINPROOF_DATABASE_POOL_SIZE",
        "CHAINPROOF_DATABASE_MAX_OVERFLOW",
    ):
        assert name in names


def test_api_unit_takes_its_worker_count_from_the_environment_file() -> None:
    service = _service("chainproof-api@.service")
    assert service["EnvironmentFile"] == "-/etc/chainproof/chainproof.env"
    # No --workers flag: it would beat CHAINPROOF_WORKERS and config.toml's `workers`.
    assert "--workers" not in shlex.split(service["ExecStart"])
    # SIGTERM to uvicorn's supervisor only; it stops the workers itself.
    assert service["KillMode"] == "mixed"


def _command(name: str, data_dir: Path, port: int) -> list[str]:
    words = shlex.split(_service(name)["ExecStart"])
    assert words[0] == INSTALLED_CLI
    swap = {STATE_DIR: str(data_dir), "%i": str(port)}
    return [CLI, *(swap.get(w, w) for w in words[1:])]


def test_exec_start_lines_run_the_api_and_the_worker(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _base_env(tmp_path)
    init_server(data_dir, env)
    env |= _env_file(workers=2)
    port = _free_port()
    api_cmd = _command("chainproof-api@.service", data_dir, port)
    assert "--no-jobs" in api_cmd and api_cmd[api_cmd.index("--port") + 1] == str(port)
    worker_cmd = _command("chainproof-worker.service", data_dir, port)
    assert worker_cmd[1:3] == ["server", "worker"]

    logs = {n: open(tmp_path / f"{n}.log", "wb") for n in ("api", "worker")}
    api = subprocess.Popen(api_cmd, env=env, stdout=logs["api"], stderr=subprocess.STDOUT)
    worker = subprocess.Popen(worker_cmd, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert api.poll() is None, (tmp_path / "api.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        # systemd stops a service with SIGTERM: both shut down cleanly. uvicorn re-raises the
        # signal once it has shut down, which systemd counts as a clean exit.
        for proc in (api, worker):
            proc.send_signal(signal.SIGTERM)
        assert api.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in (tmp_path / "api.log").read_text()
        assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()
    finally:
        for proc in (api, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs.values():
            log.close()
    assert "periodic jobs off, 2 API worker processes" in (tmp_path / "api.log").read_text()
