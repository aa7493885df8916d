"""The discover index on PostgreSQL: ingest rate and search latency (issue 20).

Generates ``--workflows`` workflows and ``--runs`` runs with COPY (org_data.py) in a
throw-away database, then:

- ingest: ``--components`` component rows (``--per-run`` per succeeded run, drawn from a
  catalogue of Maven, npm and PyPI packages) written in batches of 10,000 the way the
  discover job writes them (``copy_if_absent``: COPY into a temporary table, then one
  ``INSERT .. SELECT .. ON CONFLICT DO NOTHING``), in components per second; baseline in the
  same run: the multi-row ``INSERT .. ON CONFLICT DO NOTHING`` (``insert_many_if_absent``,
  the path SQLite takes) on ``--baseline-components`` more rows. Referrers (four per run)
  are written the same way.
- search: p50 and p99 over ``--rounds`` calls of a purl search (the service, one page of
  50 with its runs' views), with and without ``--latest``, and of a depth-1 discover of an
  image digest; baseline: a plain indexed ``SELECT id FROM components WHERE org_id = ? AND
  package = ? AND version = ? LIMIT 50`` (the index a purl search uses) on the same pool.

    python benchmarks/bench_discover.py [--runs 200000] [--components 1000000] [--rounds 200]

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

from org_data import Org, generate, scratch_database

from chainproof.server.db import Component, Referrer
from chainproof.server.db.inserts import copy_if_absent, insert_many_if_absent
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services import components, discover
from chainproof.server.support.principal import Principal

BATCH = 10_000
CATALOGUE = [
    *(f"maven/org.example.g{n % 40}/artifact-{n}" for n in range(2000)),
    *(f"npm/pkg-{n}" for n in range(2000)),
    *(f"pypi/dist-{n}" for n in range(1000)),
]


def _runs(maker: sessionmaker[Session]) -> list[tuple[str, str, Any]]:
    with maker() as session:
        rows = session.execute(
            sa.text(
                "SELECT id, workflow_id, created_at FROM workflow_runs "
                "WHERE status = 'succeeded' ORDER BY id"
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _component_rows(
    org: Org, runs: list[tuple[str, str, Any]], per_run: int, rng: random.Random
) -> Iterator[dict[str, Any]]:
    for run_id, workflow_id, created in runs:
        sbom = "sha256:" + hashlib.sha256(run_id.encode()).hexdigest()
        for path in rng.sample(CATALOGUE, per_run):
            version = f"{rng.randrange(1, 4)}.{rng.randrange(20)}.{rng.randrange(10)}"
            purl = f"pkg:{path}@{version}"
            yield {
                "id": str(uuid.uuid4()),
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


def _write(
    maker: sessionmaker[Session],
    rows: Iterator[dict[str, Any]],
    count: int,
    how: Callable[[Session, Any, list[dict[str, Any]]], None],
    model: Any = Component,
) -> tuple[int, float]:
    """Write ``count`` rows of ``rows`` in batches with ``how``; rows written, seconds."""
    done, seconds = 0, 0.0
    while done < count:
        batch = [row for _, row in zip(range(min(BATCH, count - done)), rows, strict=False)]
        if not batch:
            break
        start = time.perf_counter()
        with maker.begin() as session:
            how(session, model, batch)
        seconds += time.perf_counter() - start
        done += len(batch)
    return done, seconds


def _referrer_rows(org: Org, runs: list[tuple[str, str, Any]]) -> Iterator[dict[str, Any]]:
    for run_id, _, _ in runs:
        image = "sha256:" + hashlib.sha256(b"image" + run_id.encode()).hexdigest()
        sbom = "sha256:" + hashlib.sha256(run_id.encode()).hexdigest()
        for role, name, digest, kind in (
            ("attestation", "attestation", "sha256:" + run_id.replace("-", "") * 2, "ATTESTATION"),
            ("subject", "registry.example.com/app", image, "CONTAINER_IMAGE"),
            ("material", "image", image, "CONTAINER_IMAGE"),
            ("material", "sbom", sbom, "SBOM_CYCLONEDX_JSON"),
        ):
            yield {"id": str(uuid.uuid4()), "org_id": org.org_id, "run_id": run_id,
                   "digest": digest, "role": role, "name": name, "kind": kind,
                   "repository": "registry.example.com/app", "tag": "1.0"}  # fmt: skip


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
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--components", type=int, default=1_000_000)
    parser.add_argument("--baseline-components", type=int, default=100_000)
    parser.add_argument("--per-run", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(20)  # noqa: S311 (test data)
    with scratch_database() as url:
        org = generate(url, workflows=args.workflows, runs=args.runs)
        engine = make_engine(url, pool_size=4)
        maker = make_sessionmaker(engine, secret_key=org.secret_key)
        runs = _runs(maker)
        rows = _component_rows(org, runs, args.per_run, rng)
        n_copy, s_copy = _write(maker, rows, args.components, copy_if_absent)
        n_base, s_base = _write(maker, rows, args.baseline_components, insert_many_if_absent)
        n_refs, s_refs = _write(
            maker, _referrer_rows(org, runs), 4 * len(runs), copy_if_absent, Referrer
        )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        print(
            f"data: {org.workflows} workflows, {org.runs} runs ({len(runs)} succeeded), "
            f"{n_copy + n_base} components, {n_refs} referrers on PostgreSQL"
        )
        print(
            f"ingest (COPY + INSERT..SELECT ON CONFLICT, batches of {BATCH}): "
            f"{n_copy / s_copy:,.0f} components/s over {n_copy} rows; "
            f"baseline multi-row INSERT ON CONFLICT: {n_base / s_base:,.0f} components/s over "
            f"{n_base} rows; referrers: {n_refs / s_refs:,.0f} rows/s"
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

    def plain() -> Any:
        package, _, version = rng.choice(purls).rpartition("@")
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT id FROM components WHERE org_id = :o AND package = :p "
                    "AND version = :v LIMIT 50"
                ),
                {"o": org.org_id, "p": package, "v": version},
            ).all()

    def lookup() -> Any:
        run_id = rng.choice(runs)[0]
        image = "sha256:" + hashlib.sha256(b"image" + run_id.encode()).hexdigest()
        with maker() as session:
            return discover.discover(session, actor, image, 1)

    for label, fn in (
        ("purl search (service, page of 50 with views)", search(False)),
        ("purl search --latest", search(True)),
        ("discover depth 1 of an image digest", lookup),
        ("baseline: plain indexed SELECT by package and version", plain),
    ):
        p50, p99 = _percentiles(fn, rounds)
        print(f"{label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {rounds} rounds")


if __name__ == "__main__":
    main()
