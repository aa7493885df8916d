"""The discover index on PostgreSQL: ingest rate and search latency (issue 20).

In a throw-away database, creates ``--workflows`` workflows (org_data.py, with no runs), then
``--runs`` runs set-based, one ``INSERT .. SELECT`` over ``generate_series`` (the default 1.2M
runs hold about 1M attestations: the succeeded and blocked runs), then:

- referrers: five per attestation (the attestation, its image as subject and as material,
  its SBOM, its workflow's base image), generated set-based in one ``INSERT .. SELECT`` over
  ``workflow_runs`` (indexes rebuilt after), not through the job; its time is printed.
- ingest: ``--components`` component rows (``--per-run`` per run, drawn from a catalogue of
  Maven, npm and PyPI packages) in batches of 10,000, written the way the discover job writes
  them (``copy_if_absent``: binary COPY into a temporary table, then one ``INSERT .. SELECT ..
  ON CONFLICT DO NOTHING``; time-ordered ids; commit without waiting for the WAL flush), in
  components per second. Baselines in the same run, their batches interleaved with the job's
  so that each sees the same table size and the same neighbours on the machine: the path
  before (text COPY, random UUIDs, synchronous commit) and the multi-row ``INSERT .. ON
  CONFLICT DO NOTHING`` (``insert_many_if_absent``, the path SQLite takes), one batch in ten
  each.
- search: p50 and p99 over ``--rounds`` calls of a purl search (the service, one page of
  50 with its runs' views), with and without ``--latest``, a depth-1 discover of an image
  digest and of a base image (many runs); baselines: plain indexed ``SELECT``s of the
  components by package and version and of the referrers of a digest, on the same pool.

    python benchmarks/bench_discover.py [--runs 1200000] [--components 1000000] [--rounds 300]

Needs PostgreSQL on 127.0.0.1:5432 with trust auth (as CI).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from org_data import NOW, Org, generate, scratch_database

from chainproof.server.db import Component
from chainproof.server.db.base import ordered_id
from chainproof.server.db.inserts import (
    commit_without_flush,
    copy_if_absent,
    insert_many_if_absent,
)
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services import components, discover
from chainproof.server.support.principal import Principal

BATCH = 10_000
CATALOGUE = [
    *(f"maven/org.example.g{n % 40}/artifact-{n}" for n in range(2000)),
    *(f"npm/pkg-{n}" for n in range(2000)),
    *(f"pypi/dist-{n}" for n in range(1000)),
]


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# Runs drawn set-based: a uniform workflow, a status (84% push an attestation: succeeded or
# blocked), a time in the last 90 days, every other one with a project version.
RUNS = """
INSERT INTO workflow_runs (id, org_id, workflow_id, project_version_id, status, runner_type,
    runner, contract_revision_id, created_at, finished_at, expires_at, attestation_digest)
SELECT s.id, w.org_id, w.id, CASE WHEN s.n % 2 = 1 THEN pv.id END, s.status, 'GITHUB_ACTION',
       '{}', cr.id, s.at, s.at + interval '5 minutes', s.at + interval '1 hour',
       CASE WHEN s.status IN ('succeeded', 'blocked')
            THEN 'sha256:' || encode(sha256(convert_to(s.id, 'UTF8')), 'hex') END
FROM (
  SELECT n, gen_random_uuid()::text AS id, floor(random() * :workflows) AS k,
         CASE WHEN r < 0.80 THEN 'succeeded' WHEN r < 0.84 THEN 'blocked'
              WHEN r < 0.92 THEN 'failed' WHEN r < 0.95 THEN 'cancelled'
              WHEN r < 0.98 THEN 'expired' ELSE 'initialized' END AS status,
         CAST(:now AS timestamptz) - random() * interval '90 days' AS at
  FROM (SELECT n, random() AS r FROM generate_series(1, :runs) AS n) AS g
) AS s
JOIN (SELECT id, org_id, project_id, contract_id, row_number() OVER (ORDER BY id) - 1 AS k
      FROM workflows) AS w ON w.k = s.k
JOIN contract_revisions cr ON cr.contract_id = w.contract_id AND cr.revision = 2
LEFT JOIN project_versions pv ON pv.project_id = w.project_id AND pv.version = '1.' || s.n % 5 || '.0'
"""  # noqa: E501

# The digests of the generated referrers, computed alike in SQL and in Python (_sha).
REFERRERS = """
INSERT INTO referrers (id, org_id, run_id, digest, role, name, kind, repository, tag)
SELECT gen_random_uuid()::text, r.org_id, r.id, v.digest, v.role, v.name, v.kind,
       'registry.example.com/app', '1.0'
FROM workflow_runs r
CROSS JOIN LATERAL (VALUES
  ('attestation', 'attestation', r.attestation_digest, 'ATTESTATION'),
  ('subject', 'registry.example.com/app', 'sha256:' || encode(sha256(convert_to('image' || r.id, 'UTF8')), 'hex'), 'CONTAINER_IMAGE'),
  ('material', 'image', 'sha256:' || encode(sha256(convert_to('image' || r.id, 'UTF8')), 'hex'), 'CONTAINER_IMAGE'),
  ('material', 'sbom', 'sha256:' || encode(sha256(convert_to(r.id, 'UTF8')), 'hex'), 'SBOM_CYCLONEDX_JSON'),
  ('material', 'base', 'sha256:' || encode(sha256(convert_to('base' || r.workflow_id, 'UTF8')), 'hex'), 'CONTAINER_IMAGE')
) AS v(role, name, digest, kind)
WHERE r.attestation_digest IS NOT NULL
"""  # noqa: E501


def _bulk_load(engine: sa.Engine, table: str, sql: str, **params: Any) -> tuple[int, float]:
    """Run ``sql``, a set-based insert into ``table``; rows and seconds. The table's indexes
    and its unique and foreign-key constraints (not its primary key) are dropped for the load
    and built again after: a sort each, not one index insert per row."""
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setseed(0.2)"))
        constraints = conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('u', 'f')"
            ),
            {"t": table},
        ).all()
        indexes = conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ),
            {"t": table},
        ).all()
        for name, _ in constraints:
            conn.execute(sa.text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
        rows = conn.execute(sa.text(sql), params).rowcount
        for _, definition in indexes:
            conn.execute(sa.text(definition))
        for name, definition in constraints:
            add = f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            conn.execute(sa.text(add))
    return rows, time.perf_counter() - start


def _component_rows(
    org: Org, runs: list[tuple[str, str, Any]], per_run: int, rng: random.Random
) -> Iterator[dict[str, Any]]:
    for run_id, workflow_id, created in runs:
        sbom = _sha(run_id)
        for path in rng.sample(CATALOGUE, per_run):
            version = f"{rng.randrange(1, 4)}.{rng.randrange(20)}.{rng.randrange(10)}"
            purl = f"pkg:{path}@{version}"
            yield {
                "id": "",
                "org_id": org.org_id,
                "run_id": run_id,
                "workflow_id": workflow_id,
                "run_created_at": created,
                "sbom_digest": sbom,
                "key": purl,
                "purl": purl,
                "package": f"pkg:{path}",
                "name": path.rsplit("/", 1)[1],
                "version": version,
                "type": "library",
                "licenses": "|Apache-2.0|",
                "hashes": "",
            }


Writer = Callable[[Session, list[dict[str, Any]]], None]


def _job_path(session: Session, batch: list[dict[str, Any]]) -> None:
    commit_without_flush(session)
    copy_if_absent(session, Component, batch)


def _before(session: Session, batch: list[dict[str, Any]]) -> None:
    """The path before: text COPY, then the same INSERT .. SELECT; synchronous commit."""
    names = ", ".join(f'"{c}"' for c in batch[0])
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(
            'CREATE TEMP TABLE IF NOT EXISTS "old_components" '
            '(LIKE "components" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
        )
        with cur.copy(f'COPY "old_components" ({names}) FROM STDIN') as copy:
            for row in batch:
                copy.write_row(list(row.values()))
        cur.execute(
            f"INSERT INTO components ({names}) SELECT {names} FROM old_components "  # noqa: S608
            "ON CONFLICT DO NOTHING"
        )


def _multirow(session: Session, batch: list[dict[str, Any]]) -> None:
    insert_many_if_absent(session, Component, batch)


def _ingest(
    maker: sessionmaker[Session], rows: Iterator[dict[str, Any]], count: int
) -> dict[str, tuple[int, float]]:
    """``count`` rows in batches, one in ten through each baseline; rows and seconds each."""
    plan: list[tuple[str, Writer, Callable[[], str]]] = [
        ("job", _job_path, ordered_id),
        ("before", _before, lambda: str(uuid.uuid4())),
        *[("job", _job_path, ordered_id)] * 4,
        ("multirow", _multirow, lambda: str(uuid.uuid4())),
        *[("job", _job_path, ordered_id)] * 3,
    ]
    done: dict[str, tuple[int, float]] = {}
    written, turn = 0, 0
    while written < count:
        label, write, make_id = plan[turn % len(plan)]
        batch = [row for _, row in zip(range(min(BATCH, count - written)), rows, strict=False)]
        if not batch:
            break
        for row in batch:
            row["id"] = make_id()
        start = time.perf_counter()
        with maker.begin() as session:
            write(session, batch)
        n, seconds = done.get(label, (0, 0.0))
        done[label] = (n + len(batch), seconds + time.perf_counter() - start)
        written, turn = written + len(batch), turn + 1
    return done


def _vacuum(engine: sa.Engine) -> tuple[int, str]:
    """VACUUM ANALYZE; the component count and the table's size with its indexes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
        count, size = conn.execute(
            sa.text(
                "SELECT count(*), pg_size_pretty(pg_total_relation_size('components')) "
                "FROM components"
            )
        ).one()
    return int(count), str(size)


def _percentiles(fn: Callable[[], Any], rounds: int) -> tuple[float, float]:
    fn()  # warm the pool and the plan cache
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return statistics.median(times), cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=1_200_000)
    parser.add_argument("--components", type=int, default=1_000_000)
    parser.add_argument("--per-run", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(20)  # noqa: S311 (test data)
    with scratch_database() as url:
        org = generate(url, workflows=args.workflows, runs=0)  # the organisation, no runs
        engine = make_engine(url, pool_size=4)
        maker = make_sessionmaker(engine, secret_key=org.secret_key)
        n_runs, s_runs = _bulk_load(
            engine, "workflow_runs", RUNS, workflows=args.workflows, runs=args.runs, now=NOW
        )
        n_refs, s_refs = _bulk_load(engine, "referrers", REFERRERS)
        _vacuum(engine)
        wanted = -(-args.components // args.per_run)
        with maker() as session:
            attestations = session.scalar(
                sa.text("SELECT count(*) FROM workflow_runs WHERE attestation_digest IS NOT NULL")
            )
            pushed = session.execute(
                sa.text(
                    "SELECT id, workflow_id, created_at FROM workflow_runs "
                    "WHERE attestation_digest IS NOT NULL ORDER BY id LIMIT :n"
                ),
                {"n": max(wanted, 5000)},
            ).all()
        runs = [(r[0], r[1], r[2]) for r in pushed]
        rows = _component_rows(org, runs[:wanted], args.per_run, rng)
        ingest = _ingest(maker, rows, args.components)
        sizes = _vacuum(engine)
        print(
            f"data: {org.workflows} workflows, {n_runs} runs (set-based load {s_runs:.0f} s), "
            f"{attestations} attestations, {n_refs} referrers (set-based load {s_refs:.0f} s), "
            f"{sizes[0]} components ({sizes[1]} with indexes) on PostgreSQL"
        )
        rates = {k: f"{n / s:,.0f} components/s over {n} rows" for k, (n, s) in ingest.items()}
        print(
            f"ingest, batches of {BATCH} into a table growing to {sizes[0]} rows: "
            f"job path (binary COPY, ordered ids, async commit) {rates['job']}; "
            f"baselines: path before (text COPY, uuid4, sync commit) {rates['before']}; "
            f"multi-row INSERT ON CONFLICT {rates['multirow']}"
        )
        _searches(org, maker, engine, runs, args.rounds, rng)
        engine.dispose()


def _searches(
    org: Org,
    maker: sessionmaker[Session],
    engine: sa.Engine,
    runs: list[tuple[str, str, Any]],
    rounds: int,
    rng: random.Random,
) -> None:
    actor = Principal(org.org_id, "acme", None, "bench", "user", "owner")
    with maker() as session:
        purls = list(session.scalars(sa.select(Component.purl).limit(5000)))

    def search(latest: bool) -> Callable[[], Any]:
        def run() -> Any:
            where = components.ComponentFilter(purl=rng.choice(purls), latest=latest)
            with maker() as session:
                return components.search(session, actor, where, limit=50, cursor=None)

        return run

    def plain_components() -> Any:
        package, _, version = rng.choice(purls).rpartition("@")
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT id FROM components WHERE org_id = :o AND package = :p "
                    "AND version = :v LIMIT 50"
                ),
                {"o": org.org_id, "p": package, "v": version},
            ).all()

    def lookup(digest_of: Callable[[tuple[str, str, Any]], str]) -> Callable[[], Any]:
        def run() -> Any:
            with maker() as session:
                return discover.discover(session, actor, digest_of(rng.choice(runs)), 1)

        return run

    def plain_referrers() -> Any:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT run_id FROM referrers WHERE org_id = :o AND digest = :d"),
                {"o": org.org_id, "d": _sha("image" + rng.choice(runs)[0])},
            ).all()

    for label, fn in (
        ("purl search (service, page of 50 with views)", search(False)),
        ("purl search --latest", search(True)),
        ("discover depth 1 of an image digest (1 run)", lookup(lambda r: _sha("image" + r[0]))),
        (
            "discover depth 1 of a base image (200 runs shown)",
            lookup(lambda r: _sha("base" + r[1])),
        ),
        ("baseline: plain indexed SELECT of components by package and version", plain_components),
        ("baseline: plain indexed SELECT of the referrers of a digest", plain_referrers),
    ):
        p50, p99 = _percentiles(fn, rounds)
        print(f"{label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {rounds} rounds")


if __name__ == "__main__":
    main()
