"""Migration 0015 backfills the per-workflow summaries and the runs' policy results from
the runs a database already holds; the schema then matches the models, and downgrade and
upgrade again work. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from tests.pg import pg_database

from chainproof.server.db import Base
from chainproof.server.db.migrate import alembic_config, migrate
from chainproof.server.db.session import make_engine

T = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from pg_database()


def _run(
    run_id: str,
    workflow: str,
    status: str,
    created: float,
    finished: float | None,
    revision: str = "r1",
    pushed: bool = False,
) -> dict[str, Any]:
    return {
        "id": run_id,
        "org_id": "o1",
        "workflow_id": workflow,
        "status": status,
        "runner_type": "GITHUB_ACTION" if run_id == "e" else "GENERIC",
        "runner": {},
        "contract_revision_id": revision,
        "created_at": T + timedelta(hours=created),
        "finished_at": T + timedelta(hours=finished) if finished is not None else None,
        "attestation_digest": f"sha256:{run_id}" if pushed else None,
    }


def _evaluation(eval_id: str, run_id: str, violations: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": eval_id,
        "run_id": run_id,
        "org_id": "o1",
        "position": 0,
        "policy": "p",
        "kind": "ATTESTATION",
        "source": "server",
        "gate": False,
        "required": False,
        "skipped": False,
        "violations": violations,
        "evaluation": {},
        "created_at": T,
    }


def _seed(conn: sa.Connection) -> None:
    """A 0011 database: workflow w1 with runs in every state, w2 without runs, w3 with 12
    failed runs."""
    workflow = {"org_id": "o1", "project_id": "p1", "contract_id": "c1", "blocked": False}
    revision = {"contract_id": "c1", "raw": "{}", "spec": {}, "created_at": T}
    rows: list[tuple[str, dict[str, Any]]] = [
        ("organizations", {"id": "o1", "name": "acme", "allow_implicit_creation": True}),
        ("projects", {"id": "p1", "org_id": "o1", "name": "shop"}),
        ("contracts", {"id": "c1", "org_id": "o1", "name": "c", "latest_revision": 2}),
        ("contract_revisions", {"id": "r1", "revision": 1, **revision}),
        ("contract_revisions", {"id": "r2", "revision": 2, **revision}),
        ("workflows", {"id": "w1", "name": "build", **workflow}),
        ("workflows", {"id": "w2", "name": "idle", **workflow}),
        ("workflows", {"id": "w3", "name": "broken", **workflow}),
        ("workflow_runs", _run("g", "w1", "succeeded", -2, -1, pushed=True)),
        ("workflow_runs", _run("a", "w1", "succeeded", 0, 1, pushed=True)),
        ("workflow_runs", _run("b", "w1", "failed", 2, 3)),
        ("workflow_runs", _run("c", "w1", "succeeded", 4, 4.5, "r2", pushed=True)),
        ("workflow_runs", _run("d", "w1", "blocked", 5, 6, "r2", pushed=True)),
        ("workflow_runs", _run("f", "w1", "expired", 1.5, 8)),
        ("workflow_runs", _run("e", "w1", "initialized", 7, None, "r2")),
        ("policy_evaluations", _evaluation("pa", "a", [{"message": "bad"}])),
        ("policy_evaluations", _evaluation("pc", "c", [])),
        ("policy_evaluations", _evaluation("pd", "d", [{"message": "bad"}])),
    ]
    rows += [("workflow_runs", _run(f"x{n:02}", "w3", "failed", n, n + 0.5)) for n in range(12)]
    meta = sa.MetaData()
    meta.reflect(conn)
    for table_name, values in rows:
        table = meta.tables[table_name]
        full = dict(values)
        for column in table.columns:
            if column.name not in full and not column.nullable:
                if isinstance(column.type, sa.DateTime):
                    full[column.name] = T
        conn.execute(table.insert().values(**full))


def _stats(conn: sa.Connection, workflow: str) -> dict[str, Any]:
    row = conn.execute(
        sa.text("SELECT * FROM workflow_stats WHERE workflow_id = :w"), {"w": workflow}
    ).one()
    return dict(row._mapping)


def test_backfill_from_existing_runs(fresh_url: str) -> None:
    migrate(fresh_url, "0011")
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            _seed(conn)
        migrate(fresh_url)
        with engine.connect() as conn:
            results = dict(
                conn.execute(sa.text("SELECT id, policy_result FROM workflow_runs")).all()
            )
            assert {k: v for k, v in results.items() if not k.startswith("x")} == {
                "g": "none",
                "a": "violated",
                "b": None,
                "c": "passed",
                "d": "violated",
                "f": None,
                "e": None,
            }
            w1 = _stats(conn, "w1")
            assert w1["recent_statuses"] == "ebsfvs"  # by finish time, newest first
            assert _revisions(w1["recent_revisions"]) == [1, 2, 2, 1, 1, 1]
            assert w1["last_finished_revision"] == 1
            assert (w1["last_run_id"], w1["last_run_status"]) == ("e", "initialized")
            assert w1["last_runner_type"] == "GITHUB_ACTION"
            assert _utc(w1["last_run_at"]) == T + timedelta(hours=7)
            assert (w1["last_success_run_id"], w1["last_success_revision"]) == ("c", 2)
            assert _utc(w1["last_success_at"]) == T + timedelta(hours=4.5)
            counts = {k[5:]: v for k, v in w1.items() if k.startswith("runs_")}
            assert counts == {
                "total": 7,
                "initialized": 1,
                "succeeded": 3,
                "blocked": 1,
                "failed": 1,
                "cancelled": 0,
                "expired": 1,
            }
            w3 = _stats(conn, "w3")
            assert w3["recent_statuses"] == "f" * 10 and w3["runs_failed"] == 12
            assert w3["last_run_id"] == "x11" and w3["last_success_run_id"] is None
            idle = conn.execute(sa.text("SELECT count(*) FROM workflow_stats WHERE id = 'w2'"))
            assert idle.scalar() == 0
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        command.downgrade(alembic_config(fresh_url), "0011")
        migrate(fresh_url)
    finally:
        engine.dispose()


def _revisions(value: Any) -> list[int]:
    import json

    return list(json.loads(value) if isinstance(value, str) else value)


def _utc(value: Any) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime)
    return when if when.tzinfo else when.replace(tzinfo=UTC)
