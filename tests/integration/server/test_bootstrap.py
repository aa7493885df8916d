"""`server init` and `server start` set-up (bootstrap) over SQLite and PostgreSQL: the data dir
keeps the database URL, and a server starts only on a database `server init` set up."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.pg import pg_database

from chainproof.errors import NotFound
from chainproof.server.bootstrap import init_data_dir, prepare
from chainproof.server.db import Organization
from chainproof.server.settings import CONFIG_FILE, SECRET_FILE, Settings, read_config


def test_init_stores_the_database_url_and_start_uses_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINPROOF_DATABASE_URL", raising=False)
    org = f"boot-{secrets.token_hex(4)}"
    result = init_data_dir(tmp_path / "data", org, database_url)
    assert read_config(tmp_path / "data") == {"database_url": database_url}
    settings = Settings.of_data_dir(tmp_path / "data", environ={})
    assert settings.database_url == database_url
    app = prepare(settings)
    try:
        with app.state.sessions() as session:
            assert session.scalar(select(Organization.id).where(Organization.name == org))
        with TestClient(app) as client:
            owner = {"Authorization": f"Bearer {result['token']}"}
            me = client.get("/api/v1/whoami", headers=owner)
            assert me.json()["org"]["name"] == org
    finally:
        app.state.engine.dispose()
    assert not list((tmp_path / "data").glob("*.db"))


def test_a_key_from_the_environment_stays_out_of_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = secrets.token_urlsafe(32)
    monkeypatch.setenv("CHAINPROOF_SECRET_KEY", key)
    monkeypatch.delenv("CHAINPROOF_DATABASE_URL", raising=False)
    init_data_dir(tmp_path, "acme")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chainproof.db", CONFIG_FILE]
    assert key not in (tmp_path / CONFIG_FILE).read_text()
    # The CA keys are sealed with it: the app opens them when given the key, as at start.
    app = prepare(Settings.of_data_dir(tmp_path, environ={"CHAINPROOF_SECRET_KEY": key}))
    app.state.engine.dispose()
    assert not (tmp_path / SECRET_FILE).exists()


@pytest.mark.postgres
def test_start_refuses_a_database_without_chainproof_tables(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("")
    (tmp_path / SECRET_FILE).write_text("k" * 64)
    with contextlib.contextmanager(pg_database)() as url:
        settings = Settings.of_data_dir(tmp_path, environ={}, database_url=url)
        with pytest.raises(NotFound, match="has no chainproof tables") as caught:
            prepare(settings)
    assert caught.value.hint and "server init" in caught.value.hint


def test_each_process_sizes_its_pool_from_the_settings(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINPROOF_DATABASE_URL", raising=False)
    init_data_dir(tmp_path / "data", f"pool-{secrets.token_hex(4)}", database_url)
    env = {"CHAINPROOF_DATABASE_POOL_SIZE": "3", "CHAINPROOF_DATABASE_MAX_OVERFLOW": "1"}
    app = prepare(Settings.of_data_dir(tmp_path / "data", environ=env))
    try:
        # docs/deployment.md "Sizing": each of N workers holds up to 3 + 1 connections.
        assert app.state.engine.pool.size() == 3
        assert app.state.engine.pool._max_overflow == 1
    finally:
        app.state.engine.dispose()
