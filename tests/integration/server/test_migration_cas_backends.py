"""Migration 0003 upgrades a database that already holds evidence: existing blobs and
materials stay, mapped to the embedded store (NULL backend), and the schema matches the
models afterwards; downgrade and upgrade again work. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from tests.pg import pg_database

from chainproof.server.db import Base
from chainproof.server.db.migrate import alembic_config, migrate
from chainproof.server.db.session import make_engine

NOW = "2026-11-25 06:00:00+00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from pg_database()


def _seed(conn: sa.Connection) -> None:
    """Rows as a 0002 server wrote them: an org, a run with an uploaded material, its blob."""
    rows = [
        ("organizations", {"id": "o1", "name": "acme", "allow_implicit_creation": True}),
        ("projects", {"id": "p1", "org_id": "o1", "name": "shop"}),
        ("contracts", {"id": "c1", "org_id": "o1", "name": "c", "latest_revision": 1}),
        (
            "contract_revisions",
            {"id": "r1", "contract_id": "c1", "revision": 1, "raw": "{}", "spec": "{}"},
        ),
        (
            "workflows",
            {
                "id": "w1",
                "org_id": "o1",
                "project_id": "p1",
                "name": "build",
                "contract_id": "c1",
                "blocked": False,
            },
        ),
        (
            "workflow_runs",
            {
                "id": "run1",
                "org_id": "o1",
                "workflow_id": "w1",
                "status": "succeeded",
                "runner_type": "GENERIC",
                "runner": "{}",
                "contract_revision_id": "r1",
            },
        ),
        (
            "materials",
            {
                "id": "m1",
                "run_id": "run1",
                "name": "sbom",
                "kind": "ARTIFACT",
                "digest": "sha256:" + "a" * 64,
                "annotations": "{}",
                "summary": "{}",
                "output": False,
                "uploaded": True,
            },
        ),
        (
            "cas_blobs",
            {
                "id": "b1",
                "org_id": "o1",
                "digest": "sha256:" + "a" * 64,
                "size": 3,
                "backend": "fs",
            },
        ),
    ]
    meta = sa.MetaData()
    meta.reflect(conn)
    for table_name, values in rows:
        table = meta.tables[table_name]
        full = dict(values)
        for column in table.columns:
            if column.name in full or column.nullable:
                continue
            if isinstance(column.type, sa.DateTime):
                full[column.name] = sa.text(f"'{NOW}'")
        conn.execute(table.insert().values(**full))


def test_upgrade_keeps_evidence_and_matches_models(fresh_url: str) -> None:
    migrate(fresh_url, "0002")
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            _seed(conn)
        migrate(fresh_url)
        with engine.connect() as conn:
            blob = conn.execute(sa.text("SELECT backend, backend_id FROM cas_blobs")).one()
            material = conn.execute(sa.text("SELECT cas_backend_id FROM materials")).one()
            assert tuple(blob) == ("fs", None) and tuple(material) == (None,)
            assert conn.execute(sa.text("SELECT count(*) FROM cas_backends")).scalar() == 0
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        # The database enforces one default per organisation, too.
        insert = sa.text(
            "INSERT INTO cas_backends (id, org_id, name, provider, config, is_default, "
            "is_fallback, max_blob_size, status, created_at, updated_at) VALUES "
            "(:id, 'o1', :name, 'fs', '{}', :d, false, 1, 'unknown', :now, :now)"
        ).bindparams(now=datetime(2026, 11, 25, tzinfo=UTC))
        with engine.begin() as conn:
            conn.execute(insert, {"id": "x1", "name": "one", "d": True})
            conn.execute(insert, {"id": "x2", "name": "two", "d": False})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"id": "x3", "name": "three", "d": True})
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM cas_backends"))
        command.downgrade(alembic_config(fresh_url), "0002")
        migrate(fresh_url)
    finally:
        engine.dispose()
