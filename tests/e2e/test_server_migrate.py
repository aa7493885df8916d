"""`server migrate upgrade|current|history` and `auto_migrate`, as an operator of several
processes runs them, on SQLite and PostgreSQL: a database behind the release is upgraded by
`server start` unless auto-migration is off, when start refuses it until `migrate upgrade`."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from tests.e2e.conftest import _base_env
from tests.e2e.test_server_setup import assert_error, chainproof, init, rows, serving, start
from tests.pg import pg_database

from chainproof.server.db.migrate import alembic_config

pg_db = contextlib.contextmanager(pg_database)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return _base_env(tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def data_dir(request: pytest.FixtureRequest, env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """A data dir `server init` made, on a SQLite or a PostgreSQL database."""
    root = tmp_path / "data"
    with contextlib.ExitStack() as stack:
        args = []
        if request.param == "postgresql":
            args = ["--database-url", stack.enter_context(pg_db())]
        made = init(env, root, "--org", "acme", *args)
        assert made.returncode == 0, made.stderr
        yield root


def migrate(env: dict[str, str], data_dir: Path, *args: str) -> Any:
    proc = chainproof(env, "server", "migrate", *args, "--data-dir", str(data_dir), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def database_url(data_dir: Path) -> str:
    import tomllib

    stored = tomllib.loads((data_dir / "config.toml").read_text()).get("database_url")
    return str(stored or f"sqlite:///{data_dir / 'chainproof.db'}")


def step_back(data_dir: Path) -> None:
    """Undo the newest migration, as if the database were from the release before."""
    command.downgrade(alembic_config(database_url(data_dir)), "-1")


def test_history_and_bad_settings(env: dict[str, str], tmp_path: Path) -> None:
    plain = chainproof(env, "server", "migrate", "history", "-o", "json")
    assert plain.returncode == 0, plain.stderr
    shipped = json.loads(plain.stdout)
    assert shipped[0] == {"revision": "0001", "down_revision": None, "message": "initial"}
    # Each revision follows the one before it: one line of history, no branches.
    for before, after in itertools.pairwise(shipped):
        assert after["down_revision"] == before["revision"] and after["message"]
    table = chainproof(env, "server", "migrate", "history")
    assert table.returncode == 0 and "initial" in table.stdout, table.stderr

    root = tmp_path / "data"
    assert init(env, root).returncode == 0
    bad = start({**env, "CHAINPROOF_AUTO_MIGRATE": "maybe"}, root)
    assert_error(bad, 2, "CHAINPROOF_AUTO_MIGRATE", "docs/configuration.md")
    (root / "config.toml").write_text('run_expiry_seconds = "soon"\n')
    assert_error(start(env, root), 2, "run_expiry_seconds in", "config.toml")
    (root / "config.toml").write_text("colour = 1\n")
    proc = chainproof(env, "server", "migrate", "current", "--data-dir", str(root))
    assert_error(proc, 2, "unknown settings: colour")


def test_auto_migrate_off_start_refuses_a_database_behind_until_migrate_upgrade(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    at_head = migrate(env, data_dir, "current")
    head = at_head["head"]
    assert at_head["current"] == head and at_head["at_head"] and at_head["pending"] == []

    step_back(data_dir)
    behind = migrate(env, data_dir, "current")
    assert behind["current"] != head and not behind["at_head"]
    assert behind["pending"] == [head] and behind["known"]
    marked = migrate(env, data_dir, "history")
    assert [r["revision"] for r in marked if not r["applied"]] == [head]

    manual = {**env, "CHAINPROOF_AUTO_MIGRATE": "false"}
    refused = start(manual, data_dir)
    upgrade = "chainproof server migrate upgrade"
    assert_error(refused, 3, f"at revision {behind['current']}", upgrade)
    assert str(data_dir.resolve()) in refused.stderr
    upgraded = migrate(env, data_dir, "upgrade")  # start changed nothing: one migration to run
    assert upgraded["from"] == behind["current"] and upgraded["to"] == head
    assert upgraded["applied"] == [head]
    with serving(manual, data_dir, tmp_path / "server.log"):
        pass
    # The organisation `server init` made is still there.
    assert rows(database_url(data_dir), "SELECT name FROM organizations") == [("acme",)]


def test_start_migrates_unless_config_toml_says_not_and_refuses_a_newer_database(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    config = data_dir / "config.toml"
    config.write_text(config.read_text() + "auto_migrate = false\n")
    step_back(data_dir)
    assert_error(start(env, data_dir), 3, "auto_migrate is off")
    # The environment beats config.toml: start upgrades the database and serves.
    with serving({**env, "CHAINPROOF_AUTO_MIGRATE": "true"}, data_dir, tmp_path / "server.log"):
        pass
    assert migrate(env, data_dir, "upgrade")["applied"] == []  # at the head already

    from chainproof.server.db.session import make_engine

    engine = make_engine(database_url(data_dir))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    found = migrate(env, data_dir, "current")
    assert found["current"] == "9999" and not found["known"] and not found["at_head"]
    for proc in (
        start({**env, "CHAINPROOF_AUTO_MIGRATE": "1"}, data_dir),
        chainproof(env, "server", "migrate", "upgrade", "--data-dir", str(data_dir)),
    ):
        assert_error(proc, 3, "revision 9999", "does not know", "newer chainproof")
