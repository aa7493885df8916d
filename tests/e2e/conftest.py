"""End-to-end fixtures: the installed `chainproof` CLI against a real server subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e ``e2e`` (``pytestmark`` in a conftest marks nothing),
    so that ``pytest -m e2e`` selects them as docs/contributing.md says."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


CLI = shutil.which("chainproof", path=str(Path(sys.executable).parent)) or "chainproof"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cli:
    """Runs the installed CLI with a given environment, as a CI job would."""

    env: dict[str, str]
    cwd: Path
    history: list[list[str]] = field(default_factory=list)

    def __call__(
        self,
        *args: str,
        token: str | None = None,
        check: bool = True,
        stdin: str | None = None,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        run_env = {**self.env, **env}
        if token is not None:
            run_env["CHAINPROOF_TOKEN"] = token
        self.history.append(list(args))
        proc = subprocess.run(
            [CLI, *args],
            env=run_env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            input=stdin,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"chainproof {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    def json(self, *args: str, **kw: str) -> object:
        return json.loads(self(*args, "-o", "json", **kw).stdout)


@dataclass
class Server:
    url: str
    owner_token: str
    data_dir: Path
    process: subprocess.Popen[bytes]


def _base_env(tmp: Path) -> dict[str, str]:
    # A CI job's environment without any CI system's variables: a generic runner.
    # PYTHONPATH: a worktree's sources come first for the CLI and server it starts.
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["CHAINPROOF_STATE_DIR"] = str(tmp / "state")
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`chainproof server init` then `server start` on a free loopback port."""
    yield from start_server(tmp_path_factory.mktemp("server"), run_expiry_seconds=600)


@pytest.fixture(scope="module")
def short_expiry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose unpushed runs expire after 3 s (checked every second)."""
    yield from start_server(tmp_path_factory.mktemp("server"), run_expiry_seconds=3)


def start_server(
    tmp: Path, *, run_expiry_seconds: int, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run `server init` and `server start` under ``tmp``; yield it, stop it."""
    data_dir = tmp / "data"
    env = _base_env(tmp)
    env["CHAINPROOF_RUN_EXPIRY_SECONDS"] = str(run_expiry_seconds)
    env["CHAINPROOF_EXPIRY_CHECK_SECONDS"] = "1"
    env.update(extra_env or {})
    token = str(init_server(data_dir, env)["token"])
    yield from run_server(data_dir, env, token, tmp / "server.log")


#: Parameters of a module-scoped server fixture that runs each test on both databases.
BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def start_server_on(database: str, tmp: Path, *, run_expiry_seconds: int) -> Iterator[Server]:
    """:func:`start_server` on SQLite (``database == "sqlite"``) or on a throw-away
    PostgreSQL database."""
    if database == "sqlite":
        yield from start_server(tmp, run_expiry_seconds=run_expiry_seconds)
        return
    from tests.pg import pg_database

    with contextlib.contextmanager(pg_database)() as url:
        env = {"CHAINPROOF_DATABASE_URL": url}
        yield from start_server(tmp, run_expiry_seconds=run_expiry_seconds, extra_env=env)


def api_get(server: Server, path: str, **params: Any) -> Any:
    """``GET /api/v1{path}`` with the owner token; the JSON answer (raises on an error)."""
    answer = httpx.get(
        f"{server.url}/api/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()


def init_server(data_dir: Path, env: dict[str, str]) -> dict[str, object]:
    """`chainproof server init` of organisation acme in ``data_dir``; its JSON answer."""
    init = subprocess.run(
        [CLI, "server", "init", "--data-dir", str(data_dir), "--org", "acme", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    return dict(json.loads(init.stdout))


def run_server(
    data_dir: Path, env: dict[str, str], token: str, log_path: Path, *args: str
) -> Iterator[Server]:
    """`server start` on ``data_dir`` (made by `server init`) on a free loopback port, with
    extra ``args``; yield it once healthy, stop it."""
    port = _free_port()
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [CLI, "server", "start", "--data-dir", str(data_dir), "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    # Generous: on a loaded 2-core machine a start has taken over 30 s.
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise AssertionError(log_path.read_text())
        time.sleep(0.1)
    try:
        yield Server(url=url, owner_token=token, data_dir=data_dir, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    """The CLI pointed at the server, with the owner token and a fresh state dir."""
    return cli_for(server, tmp_path)


def cli_for(server: Server, tmp_path: Path) -> Cli:
    """The CLI pointed at ``server``, with its owner token and a fresh state dir."""
    env = _base_env(tmp_path)
    env["CHAINPROOF_URL"] = server.url
    env["CHAINPROOF_TOKEN"] = server.owner_token
    return Cli(env=env, cwd=tmp_path)
