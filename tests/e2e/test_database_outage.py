"""A database outage while the server runs: the API answers 503 with Retry-After (a problem
document, the connection kept), the CLI retries its idempotent calls until the database is
back, and `server start` against an unreachable database exits with one line.

The outage is real: the server's throw-away PostgreSQL database stops accepting connections
(``ALLOW_CONNECTIONS false``) and its open connections are terminated, then it is allowed
again.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.conftest import CLI, Cli, Server, _base_env, _free_port, cli_for, init_server
from tests.e2e.conftest import run_server as _run_server
from tests.pg import PG_ADMIN_URL, pg_database

from chainproof.server.db.session import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server on a throw-away PostgreSQL database; yields it and the database's name."""
    tmp = tmp_path_factory.mktemp("outage")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(contextlib.contextmanager(pg_database)())
        env = _base_env(tmp) | {"CHAINPROOF_DATABASE_URL": url}
        token = str(init_server(tmp / "data", env)["token"])
        server = stack.enter_context(
            contextlib.contextmanager(_run_server)(tmp / "data", env, token, tmp / "server.log")
        )
        yield server, url.rsplit("/", 1)[1]


@contextlib.contextmanager
def outage(database: str) -> Iterator[None]:
    """The database refuses connections, and its open ones are cut, until the block ends."""
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                ),
                {"d": database},
            )
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def _cli(server: Server, tmp: Path) -> Cli:
    return cli_for(server, tmp)


def test_outage_answers_503_with_retry_after(pg_server: tuple[Server, str]) -> None:
    server, database = pg_server
    headers = {"Authorization": f"Bearer {server.owner_token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        assert client.get("/api/v1/projects").status_code == 200
        with outage(database):
            answer = client.get("/api/v1/projects")
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["retry-after"]) >= 1
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "unavailable"
            assert "database" in answer.json()["detail"]
            # The connection was kept: a second request on it gets the same answer.
            assert client.get("/api/v1/projects").status_code == 503
        assert client.get("/api/v1/projects").status_code == 200


def test_the_cli_retries_until_the_database_is_back(
    pg_server: tuple[Server, str], tmp_path: Path
) -> None:
    server, database = pg_server
    cli = _cli(server, tmp_path)
    cli("project", "create", "--name", "steady")
    with outage(database):
        proc = subprocess.Popen(
            [CLI, "project", "list"],
            env=cli.env | {"CHAINPROOF_RETRY_TIMEOUT": "60"},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "steady" in stdout
    assert "retrying" in stderr


def test_the_cli_gives_up_after_its_retry_time(
    pg_server: tuple[Server, str], tmp_path: Path
) -> None:
    server, database = pg_server
    cli = _cli(server, tmp_path)
    with outage(database):
        started = time.monotonic()
        proc = cli("project", "list", check=False, CHAINPROOF_RETRY_TIMEOUT="2")
        elapsed = time.monotonic() - started
    assert proc.returncode == 4, proc.stderr
    assert "Error: " in proc.stderr and "database" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 30  # bounded by the retry time, not by an endless loop


def test_server_start_with_an_unreachable_database_exits_with_one_line(
    pg_server: tuple[Server, str], tmp_path: Path
) -> None:
    server, _ = pg_server
    closed = f"postgresql://postgres@127.0.0.1:{_free_port()}/cp"
    env = _base_env(tmp_path) | {"CHAINPROOF_DATABASE_URL": closed}
    proc = subprocess.run(
        [CLI, "server", "start", "--data-dir", str(server.data_dir), "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 4
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: cannot use the database") and "refused" in errors[0]
