"""`server init` / `server start` / `cas serve` as an operator runs them: the data dir keeps its
database setting, and every failure is a message with a hint and an exit code, never a
traceback or a half-made data dir."""

from __future__ import annotations

import contextlib
import json
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.conftest import CLI, Cli, _base_env, _free_port
from tests.e2e.test_attestation_flow import CONTRACT
from tests.pg import PG_ADMIN_URL, pg_database

from chainproof.server.db.session import make_engine

pg_db = contextlib.contextmanager(pg_database)


def chainproof(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_error(proc: subprocess.CompletedProcess[str], code: int, *phrases: str) -> None:
    """Exit ``code``; the error with each phrase and a hint on stderr (as text, or as the JSON
    error document when the command ran with ``-o json``); no traceback."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    if "-o" in proc.args and "json" in proc.args:
        error = json.loads(proc.stderr)["error"]
        assert error["hint"], proc.stderr
        shown = f"{error['message']}\n{error['hint']}"
    else:
        assert "\nError: " in "\n" + proc.stderr and "\nHint: " in proc.stderr, proc.stderr
        shown = proc.stderr
    for phrase in phrases:
        assert phrase in shown, proc.stderr


def init(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return chainproof(env, "server", "init", "--data-dir", str(data_dir), "-o", "json", *args)


def start(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`server start` that is expected to fail at once (it would otherwise serve)."""
    port = str(_free_port())
    return chainproof(env, "server", "start", "--data-dir", str(data_dir), "--port", port, *args)


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return _base_env(tmp_path)


@contextlib.contextmanager
def serving(env: dict[str, str], data_dir: Path, log: Path, *args: str) -> Iterator[str]:
    """`server start` on a free port with ``args``; yield its URL once healthy."""
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [CLI, "server", "start", "--data-dir", str(data_dir), "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while not _healthy(url):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.postgres
def test_postgres_data_dir_serves_from_postgres_with_only_data_dir(
    env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with pg_db() as url:
        created = init(env, data_dir, "--org", "acme", "--database-url", url)
        assert created.returncode == 0, created.stderr
        config = data_dir / "config.toml"
        assert tomllib.loads(config.read_text()) == {"database_url": url}
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        token = json.loads(created.stdout)["token"]

        # No --database-url, no CHAINPROOF_DATABASE_URL: the stored setting is used.
        assert "CHAINPROOF_DATABASE_URL" not in env
        with serving(env, data_dir, tmp_path / "server.log") as server_url:
            admin = {**env, "CHAINPROOF_URL": server_url, "CHAINPROOF_TOKEN": token}
            cli = Cli(env=admin, cwd=tmp_path)
            cli("workflow", "contract", "create", "--name", "release", "-f", str(CONTRACT))
            # No `project create`: workflow create makes the project.
            create = ["workflow", "create", "--name", "build", "--project", "shop"]
            made = cli.json(*create, "--contract", "release")
            assert isinstance(made, dict) and made["project"] == "shop"

        assert rows(url, "SELECT name FROM projects") == [("shop",)]
        assert rows(url, "SELECT name FROM workflows") == [("build",)]
    assert sorted(p.name for p in data_dir.iterdir()) == ["cas", "config.toml", "secret.key"]


@pytest.mark.postgres
def test_database_url_precedence_flag_then_environment_then_config(
    env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with pg_db() as stored, pg_db() as empty:
        assert init(env, data_dir, "--database-url", stored).returncode == 0
        empty_name = empty.rsplit("/", 1)[1]
        with_env = {**env, "CHAINPROOF_DATABASE_URL": empty}

        # The environment beats config.toml: the empty database is the one refused.
        refused = start(with_env, data_dir)
        assert_error(refused, 3, empty_name, "has no chainproof tables")
        assert "config.toml names" in refused.stderr
        # The flag beats the environment: the server comes up on the stored database.
        log = tmp_path / "server.log"
        with serving(with_env, data_dir, log, "--database-url", stored) as server_url:
            assert _healthy(server_url)
        assert rows(empty, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


@pytest.mark.postgres
@pytest.mark.parametrize("existing", [False, True], ids=["new-dir", "empty-dir"])
def test_init_against_a_missing_database_leaves_no_data_dir(
    env: dict[str, str], tmp_path: Path, existing: bool
) -> None:
    data_dir = tmp_path / "parent" / "data"
    if existing:
        data_dir.mkdir(parents=True)
    missing = PG_ADMIN_URL.rsplit("/", 1)[0] + "/cp_no_such_database"
    proc = init(env, data_dir, "--database-url", missing)
    assert_error(proc, 4, 'database "cp_no_such_database" does not exist', "createdb")
    assert proc.stdout == ""
    if existing:
        assert list(data_dir.iterdir()) == []
    else:
        assert not (tmp_path / "parent").exists()


def test_init_against_an_unreachable_database_leaves_no_data_dir(
    env: dict[str, str], tmp_path: Path
) -> None:
    closed = f"postgresql://cp:hunter2@127.0.0.1:{_free_port()}/cp"
    proc = init(env, tmp_path / "data", "--database-url", closed)
    assert_error(proc, 4, "Connection refused", "cannot use the database")
    assert "hunter2" not in proc.stderr
    assert not (tmp_path / "data").exists()


def test_init_refuses_a_directory_it_did_not_make(env: dict[str, str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("keep me")
    assert_error(init(env, data_dir), 2, "not empty and not a chainproof data dir")
    assert [p.name for p in data_dir.iterdir()] == ["notes.txt"]


def test_init_again_adds_an_organisation_to_the_same_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    assert init(env, data_dir, "--org", "acme").returncode == 0
    before = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.suffix != ".db"}
    again = init(env, data_dir, "--org", "other")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["org"]["name"] == "other"
    assert {p.name: p.read_bytes() for p in data_dir.iterdir() if p.suffix != ".db"} == before
    db = f"sqlite:///{data_dir / 'chainproof.db'}"
    assert sorted(rows(db, "SELECT name FROM organizations")) == [("acme",), ("other",)]
    # Another database for an existing data dir is refused, not silently used.
    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    assert_error(init(env, data_dir, "--database-url", other_db), 5, "already uses the database")
    assert not (tmp_path / "other.db").exists()


def test_start_refuses_missing_and_uninitialised_data_dirs(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert_error(start(env, tmp_path / "nope"), 3, "does not exist", "server init")
    assert not (tmp_path / "nope").exists()
    (tmp_path / "empty").mkdir()
    assert_error(start(env, tmp_path / "empty"), 3, "not a chainproof data dir", "server init")
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.postgres
def test_start_never_falls_back_to_a_new_sqlite_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with pg_db() as url:
        assert init(env, data_dir, "--database-url", url).returncode == 0
        # A data dir from before config.toml existed: a secret key and no database setting.
        (data_dir / "config.toml").unlink()
        proc = start(env, data_dir)
        assert_error(proc, 3, "SQLite database", "does not exist", "--database-url")
        assert_error(init(env, data_dir, "--org", "second"), 3, "SQLite database")
        assert not list(data_dir.glob("*.db*"))
        # The hint's way out: name the database.
        again = init(env, data_dir, "--org", "second", "--database-url", url)
        assert again.returncode == 0, again.stderr
        assert rows(url, "SELECT count(*) FROM organizations") == [(2,)]


@pytest.mark.postgres
def test_start_on_an_unreachable_database_is_a_network_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with pg_db() as url:
        assert init(env, data_dir, "--database-url", url).returncode == 0
    # The database is dropped now: the stored URL names nothing.
    name = url.rsplit("/", 1)[1]
    assert_error(start(env, data_dir), 4, f'database "{name}" does not exist')
    closed = f"postgresql://postgres@127.0.0.1:{_free_port()}/cp"
    assert_error(start(env, data_dir, "--database-url", closed), 4, "Connection refused")


_NOT_INSTALLED = """
import sys
from importlib.abc import MetaPathFinder

# The [server] extra's top-level modules, as if never installed.
BLOCKED = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg"}


class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""


@pytest.fixture
def cli_only_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment of an install without the ``[server]`` extra: a ``sitecustomize``
    first on the path makes importing its modules fail as if they were absent."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(_NOT_INSTALLED)
    path = [str(shim), *filter(None, [env.get("PYTHONPATH")])]
    shimmed = {**env, "PYTHONPATH": ":".join(path)}
    check = subprocess.run(
        [sys.executable, "-c", "import sqlalchemy"], env=shimmed, capture_output=True, check=False
    )
    assert check.returncode == 1 and b"No module named 'sqlalchemy'" in check.stderr
    return shimmed


@pytest.mark.parametrize(
    "command",
    [["server", "init"], ["server", "start"], ["cas", "serve"]],
    ids=["server-init", "server-start", "cas-serve"],
)
def test_server_commands_without_the_server_extra_say_what_to_install(
    cli_only_env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    data_dir = tmp_path / "data"
    if command != ["server", "init"]:
        assert init(_base_env(tmp_path), data_dir).returncode == 0
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = chainproof(cli_only_env, *command, "--data-dir", str(data_dir))
    assert_error(proc, 2, "server components", "pip install 'chainproof[server]'")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    # The client commands still work in such an install.
    assert chainproof(cli_only_env, "--version").returncode == 0
