"""Migration 0012 adds the organisations' contract grace period: existing organisations keep
accepting every revision (NULL); downgrade and upgrade again work. SQLite and PostgreSQL."""

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


def _columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("organizations")}
    finally:
        engine.dispose()


def test_existing_orgs_get_no_grace_period_and_downgrade_works(fresh_url: str) -> None:
    migrate(fresh_url, "0011")
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO organizations (id, name, allow_implicit_creation, created_at)"
                    " VALUES ('o1', 'acme', true, '2026-11-25 06:00:00+00:00')"
                )
            )
        migrate(fresh_url, "0012")
        with engine.connect() as conn:
            grace = conn.execute(sa.text("SELECT contract_grace_seconds FROM organizations"))
            assert grace.scalar_one() is None
    finally:
        engine.dispose()
    command.downgrade(alembic_config(fresh_url), "0011")
    assert "contract_grace_seconds" not in _columns(fresh_url)
    migrate(fresh_url, "0012")
    assert "contract_grace_seconds" in _columns(fresh_url)
