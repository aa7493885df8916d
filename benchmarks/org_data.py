"""A large organisation in a throw-away PostgreSQL database, loaded with COPY.

``W`` workflows in ``W/10`` projects (one contract with two revisions per project, one
empty contract for every twentieth workflow: unmanaged), five versions per project, ``R``
runs spread over 90 days (statuses, runners, versions and contract revisions drawn with a
fixed seed), a policy evaluation with a violation on one pushed run in twenty, and each
run's ``policy_result`` as migration 0015 would backfill it. The runs' secondary indexes and
foreign keys are made after their COPY. The per-workflow summaries are then filled by 0015's
own backfill, whose time is reported too.

    python benchmarks/org_data.py --workflows 10000 --runs 1000000

Used by bench_overview.py; needs PostgreSQL on 127.0.0.1:5432 with trust auth (as CI).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from chainproof.core.contract import Contract
from chainproof.server.bootstrap import create_org
from chainproof.server.db.migrate import MIGRATIONS, migrate
from chainproof.server.db.session import make_engine, make_sessionmaker

PG = "postgresql://postgres@127.0.0.1:5432"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
STATUSES = [
    ("succeeded", 80),
    ("failed", 8),
    ("blocked", 4),
    ("cancelled", 3),
    ("expired", 3),
    ("initialized", 2),
]
RUNNERS = [("GITHUB_ACTION", 70), ("GITLAB_PIPELINE", 20), ("GENERIC", 10)]
SPEC = Contract.parse(
    "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: release}\n"
    "spec:\n  materials:\n    - {type: SBOM_CYCLONEDX_JSON, name: sbom}\n"
).to_dict()
EMPTY = Contract.empty("unmanaged").to_dict()


@dataclass(frozen=True)
class Org:
    """What the benchmarks need to know of the generated organisation."""

    url: str
    org_id: str
    token: str
    secret_key: str
    workflows: int
    runs: int
    load_seconds: float
    backfill_seconds: float


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new empty database (SQLAlchemy URL), dropped on exit."""
    name = f"cp_bench_{secrets.token_hex(5)}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def generate(url: str, *, workflows: int, runs: int, seed: int = 14) -> Org:
    """Migrate ``url``, create organisation ``acme`` and load the data; see the docstring."""
    migrate(url)
    engine = make_engine(url)
    secret = secrets.token_hex(32)
    with make_sessionmaker(engine, secret_key=secret).begin() as session:
        org, token = create_org(session, "acme")
    start = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        _load(conn, org["id"], workflows, runs, random.Random(seed))  # noqa: S311 (test data)
        conn.execute("ANALYZE")
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    _backfill(engine)
    backfill = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    return Org(url, org["id"], token, secret, workflows, runs, loaded, backfill)


def _load(conn: psycopg.Connection[Any], org_id: str, workflows: int, runs: int, rng: Any) -> None:
    projects = max(1, workflows // 10)
    project_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(projects)]
    contract_ids = [f"c{n:011d}".ljust(36, "0") for n in range(projects + 1)]
    revision_ids = {(c, r): f"{c[:30]}-rev{r:02d}" for c in contract_ids for r in (1, 2)}
    version_ids = {p: [f"{p[:30]}-v{n:04d}" for n in range(5)] for p in project_ids}
    created = NOW - timedelta(days=100)
    with conn.cursor() as cur:
        _copy(
            cur,
            "projects",
            ("id", "org_id", "name", "created_at"),
            ((p, org_id, f"project-{n:05d}", created) for n, p in enumerate(project_ids)),
        )
        _copy(
            cur,
            "project_versions",
            ("id", "project_id", "version", "created_at"),
            (
                (v, p, f"1.{n}.0", created)
                for p, vs in version_ids.items()
                for n, v in enumerate(vs)
            ),
        )
        _copy(
            cur,
            "contracts",
            ("id", "org_id", "name", "latest_revision", "created_at"),
            ((c, org_id, f"contract-{n:05d}", 2, created) for n, c in enumerate(contract_ids)),
        )
        spec = psycopg.types.json.Json(SPEC)
        empty = psycopg.types.json.Json(EMPTY)
        _copy(
            cur,
            "contract_revisions",
            ("id", "contract_id", "revision", "raw", "spec", "created_at"),
            (
                (rid, c, r, "{}", empty if c == contract_ids[-1] else spec, created)
                for (c, r), rid in revision_ids.items()
            ),
        )
        wf = []
        for n in range(workflows):
            project = project_ids[n % projects]
            contract = contract_ids[-1] if n % 20 == 19 else contract_ids[n % projects]
            wf.append((str(uuid.UUID(int=rng.getrandbits(128))), project, contract))
        _copy(
            cur,
            "workflows",
            ("id", "org_id", "project_id", "name", "team", "contract_id", "blocked", "created_at"),
            (
                (w, org_id, p, f"wf-{n:06d}", f"team-{n % 50}", c, n % 500 == 0, created)
                for n, (w, p, c) in enumerate(wf)
            ),
        )
        with _built_after_load(cur, ("workflow_runs", "policy_evaluations")):
            _copy_runs(cur, org_id, wf, version_ids, revision_ids, runs, rng)


@contextmanager
def _built_after_load(cur: psycopg.Cursor[Any], tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the foreign keys and the secondary indexes (those no constraint owns) of
    ``tables``, then make them again once the rows are in: one sort per index and one join
    per foreign key, instead of an index insertion and a lookup per key for every row."""
    cur.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
        (list(tables),),
    )
    keys = cur.fetchall()
    cur.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname)",
        (list(tables),),
    )
    indexes = cur.fetchall()
    for table, name, _ in keys:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    yield
    cur.execute("SET maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        cur.execute(definition)
    for table, name, definition in keys:
        cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _copy_runs(
    cur: psycopg.Cursor[Any],
    org_id: str,
    wf: list[tuple[str, str, str]],
    version_ids: dict[str, list[str]],
    revision_ids: dict[tuple[str, int], str],
    runs: int,
    rng: Any,
) -> None:
    statuses = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES], k=runs)
    runners = rng.choices([r for r, _ in RUNNERS], [w for _, w in RUNNERS], k=runs)
    span = 90 * 86400
    violated: list[str] = []
    columns = (
        "id",
        "org_id",
        "workflow_id",
        "project_version_id",
        "status",
        "runner_type",
        "runner",
        "contract_revision_id",
        "created_at",
        "finished_at",
        "expires_at",
        "attestation_digest",
        "policy_result",
    )
    with cur.copy(f"COPY workflow_runs ({', '.join(columns)}) FROM STDIN") as copy:
        for n in range(runs):
            run_id = str(uuid.UUID(int=rng.getrandbits(128)))
            workflow, project, contract = wf[rng.randrange(len(wf))]
            at = NOW - timedelta(seconds=rng.randrange(span))
            status = statuses[n]
            pushed = status in ("succeeded", "blocked")
            revision = revision_ids[(contract, 2 if at > NOW - timedelta(days=30) else 1)]
            version = version_ids[project][n % 5] if n % 2 else None
            finished = None if status == "initialized" else at + timedelta(minutes=5)
            digest = f"sha256:{run_id.replace('-', '')}" if pushed else None
            violation = pushed and n % 20 == 0
            # what 0015's backfill would write: the evaluation below, or none at all
            verdict = ("violated" if violation else "none") if pushed else None
            copy.write_row(
                (
                    run_id,
                    org_id,
                    workflow,
                    version,
                    status,
                    runners[n],
                    "{}",
                    revision,
                    at,
                    finished,
                    at + timedelta(hours=1),
                    digest,
                    verdict,
                )
            )
            if violation:
                violated.append(run_id)
    with cur.copy(
        "COPY policy_evaluations (id, run_id, org_id, position, policy, kind, source, gate, "
        "required, skipped, violations, evaluation, created_at) FROM STDIN"
    ) as copy:
        for run_id in violated:
            copy.write_row(
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    run_id,
                    org_id,
                    0,
                    "sbom-banned-licenses",
                    "SBOM_CYCLONEDX_JSON",
                    "server",
                    False,
                    False,
                    False,
                    '[{"message": "MIT is banned"}]',
                    "{}",
                    NOW,
                )
            )


def _copy(cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...], rows: Any) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _backfill(engine: sa.Engine) -> None:
    """Migration 0015's backfill of the per-workflow summaries, run as the migration runs it.
    (Its other half, the runs' ``policy_result``, is written by the load: an UPDATE of most
    of a million rows costs more than the whole COPY.)"""
    path = next((MIGRATIONS / "versions").glob("0015_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0015", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM workflow_stats"))
        with Operations.context(MigrationContext.configure(conn)):
            module._backfill_stats()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    args = parser.parse_args()
    with scratch_database() as url:
        org = generate(url, workflows=args.workflows, runs=args.runs)
        print(
            f"{org.workflows} workflows, {org.runs} runs: COPY load {org.load_seconds:.1f} s, "
            f"0015 backfill {org.backfill_seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
