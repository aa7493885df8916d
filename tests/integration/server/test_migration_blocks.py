"""Migration 0013 (blocks, archive, default contract) keeps existing evidence: a blocked
workflow stays blocked, its runs and materials stay, no project is blocked; downgrade and
upgrade again keep them too. SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from tests.integration.server.test_migration_cas_backends import _seed, fresh_url

from chainproof.server.db.migrate import alembic_config, migrate
from chainproof.server.db.session import make_engine

__all__ = ["fresh_url"]


def _counts(conn: sa.Connection) -> list[int]:
    return [
        conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        for name in ("workflows", "workflow_runs", "materials")
    ]


def test_upgrade_and_downgrade_keep_runs_and_blocks(fresh_url: str) -> None:
    migrate(fresh_url, "0002")
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            _seed(conn)
        migrate(fresh_url, "0011")
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE workflows SET blocked = true"))
            before = _counts(conn)
        assert before == [1, 1, 1]
        migrate(fresh_url, "0014")
        with engine.connect() as conn:
            assert _counts(conn) == before
            workflow = conn.execute(
                sa.text("SELECT blocked, blocked_reason, archived_at FROM workflows")
            ).one()
            assert tuple(workflow) == (True, None, None)
            project = conn.execute(sa.text("SELECT blocked, blocked_by FROM projects")).one()
            assert tuple(project) == (False, None)
            org = conn.execute(sa.text("SELECT default_contract_id FROM organizations")).one()
            assert tuple(org) == (None,)
        command.downgrade(alembic_config(fresh_url), "0011")
        with engine.connect() as conn:
            assert _counts(conn) == before
        migrate(fresh_url, "0014")
    finally:
        engine.dispose()
