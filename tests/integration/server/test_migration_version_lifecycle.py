"""Migration 0016 adds the version lifecycle: existing versions stay prereleases, no
organisation refuses runs on released versions; downgrade and upgrade again work. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from tests.pg import pg_database

from chainproof.server.db.migrate import alembic_config, migrate
from chainproof.server.db.session import make_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from pg_database()


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_existing_versions_stay_prereleases_and_downgrade_works(fresh_url: str) -> None:
    migrate(fresh_url, "0015")
    engine = make_engine(fresh_url)
    at = {"at": "2026-11-25 06:00:00+00:00"}
    try:
        with engine.begin() as conn:
            for statement in (
                "INSERT INTO organizations (id, name, allow_implicit_creation, created_at)"
                " VALUES ('o1', 'acme', true, :at)",
                "INSERT INTO projects (id, org_id, name, created_at)"
                " VALUES ('p1', 'o1', 'shop', :at)",
                "INSERT INTO project_versions (id, project_id, version, created_at)"
                " VALUES ('v1', 'p1', '1.0', :at)",
            ):
                conn.execute(sa.text(statement), at)
        migrate(fresh_url, "0016")
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version, released_at FROM project_versions"))
            assert version.one() == ("1.0", None)
            refuse = conn.execute(sa.text("SELECT refuse_released_versions FROM organizations"))
            assert refuse.scalar_one() in (False, 0)
    finally:
        engine.dispose()
    command.downgrade(alembic_config(fresh_url), "0015")
    assert "released_at" not in _columns(fresh_url, "project_versions")
    assert "refuse_released_versions" not in _columns(fresh_url, "organizations")
    migrate(fresh_url, "0016")
    assert {"released_at", "released_by"} <= _columns(fresh_url, "project_versions")
