"""Organisation overview and run-list pages on a large PostgreSQL organisation.

Generates ``--workflows`` workflows and ``--runs`` runs with COPY (org_data.py) in a
throw-away database, then measures, each over ``--rounds`` calls, p50 and p95 of:

- the overview (organisation totals, then a page of 100 or 500 workflows, or one project)
  through the service and through HTTP (the ASGI app in process), and a page of 100 deep in
  the list (after 49 keyset cursors, followed outside the timing);
- a page of 50 runs (the service's keyset query plus the JSON views the API returns),
  unfiltered, with each filter, and deep in the list (after following 20 cursors);
- the overview and a page of 50 runs for a member holding project roles in 10 projects (they
  see only those: the lists narrow with an ``IN`` subquery on ``project_memberships``), beside
  the same calls as the owner.

Beside them, baselines measured in the same run on the same connection pool: a ``SELECT 1``
round trip and a primary-key lookup of one run. Targets (issue 14): overview p95 <= 150 ms
and a page of 50 <= 50 ms at 10k workflows and 1M runs.

    python benchmarks/bench_overview.py [--workflows 10000] [--runs 1000000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from org_data import NOW, Org, generate, scratch_database
from timing import line, percentiles

from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services import orgs, overview, project_members, run_list, tokens


def _p95(fn: Callable[[], Any], rounds: int) -> tuple[float, float]:
    return percentiles(fn, rounds, tail=0.95)


def _line(name: str, p50: float, p95: float, target: float | None = None) -> None:
    line(name, p50, p95, target, tail="p95")


def _bench(org: Org, rounds: int) -> None:
    engine = make_engine(org.url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        actor = tokens.authenticate(session, org.token)
        any_run = session.scalar(sa.text("SELECT id FROM workflow_runs LIMIT 1"))
        workflow = session.scalar(sa.text("SELECT name FROM workflows ORDER BY name LIMIT 1"))

    def query(sql: str, **params: Any) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as session:
                return session.execute(sa.text(sql), params).all()

        return run

    print("baselines (same pool):")
    _line("SELECT 1", *_p95(query("SELECT 1"), rounds))
    pk = query("SELECT * FROM workflow_runs WHERE id = :id", id=any_run)
    _line("primary-key lookup of a run", *_p95(pk, rounds))

    def service(**kw: Any) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as session:
                return overview.overview(session, actor, **kw)

        return run

    print("overview (totals over every workflow + one page of workflows):")
    _line("service, page of 100", *_p95(service(), rounds), target=150)
    _line("service, page of 500", *_p95(service(limit=500), rounds), target=150)
    _line("service, one project", *_p95(service(project="project-00042"), rounds), 150)
    _line("HTTP GET /api/v1/overview, page of 100", *_p95(_http(org), rounds), 150)
    hops, deep = _deep_cursor(service, pages=49)
    if deep is not None:  # keyset paging: a deep page costs what the first does
        deep_page = service(cursor=deep)
        _line(f"service, page of 100 after {hops} pages", *_p95(deep_page, rounds), 150)

    def page(cursor_hops: int = 0, **where: Any) -> Callable[[], Any]:
        f = run_list.RunFilter(**where)

        def run() -> Any:
            with sessions() as session:
                cursor = None
                for _ in range(cursor_hops):
                    _, cursor = run_list.list_page(session, actor, limit=50, cursor=cursor, where=f)
                rows, _ = run_list.list_page(session, actor, limit=50, cursor=cursor, where=f)
                return run_list.views(session, rows)

        return run

    print("run list, a page of 50 (query + views):")
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("no filter", page()),
        ("status=failed", page(status="failed")),
        ("policy=violated", page(policy_result="violated")),
        ("runner=GENERIC", page(runner_type="GENERIC")),
        ("project=project-00042", page(project="project-00042")),
        (f"workflow={workflow}", page(workflow=workflow)),
        ("version=1.3.0", page(version="1.3.0")),
        ("since 7 days, status=blocked", page(status="blocked", since=NOW - timedelta(days=7))),
        ("until 60 days ago", page(until=NOW - timedelta(days=60))),
    ]
    for name, fn in cases:
        _line(name, *_p95(fn, rounds), target=50)
    p50, p95 = _p95(page(cursor_hops=20), rounds)
    _line("21st page (20 cursors followed), per page", p50 / 21, p95 / 21, target=50)
    _bench_project_roles(sessions, org, rounds)
    engine.dispose()


def _bench_project_roles(sessions: Any, org: Org, rounds: int) -> None:
    """A member who holds viewer roles in 10 projects, against the owner (docs/identity.md,
    "Project roles")."""
    with sessions.begin() as session:
        owner = tokens.authenticate(session, org.token)
        user = orgs.add_member(session, orgs.get_org(session, org.org_id), "bench-member", "member")
        for project in session.scalars(sa.text("SELECT name FROM projects ORDER BY name LIMIT 10")):
            project_members.set_member(session, owner, project, user.id, "viewer")
        _, secret = tokens.create_user_token(
            session, orgs.get_org(session, org.org_id), user, "member", "bench"
        )

    def as_(token: str, call: Callable[[Any, Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as session:  # authentication included: it reads the project roles
                return call(session, tokens.authenticate(session, token))

        return run

    def runs(session: Any, actor: Any) -> Any:
        rows, _ = run_list.list_page(
            session, actor, limit=50, cursor=None, where=run_list.RunFilter()
        )
        return run_list.views(session, rows)

    print("project roles (a member who sees 10 projects) against the owner, same run:")
    for who, token in (("owner", org.token), ("member of 10 projects", secret)):
        _line(f"overview, {who}", *_p95(as_(token, overview.overview), rounds), 150)
        _line(f"page of 50 runs, {who}", *_p95(as_(token, runs), rounds), 50)


def _deep_cursor(service: Callable[..., Callable[[], Any]], pages: int) -> tuple[int, Any]:
    """The overview cursor after up to ``pages`` pages of 100 (followed outside the timing),
    and how many pages it skips."""
    cursor, hops = None, 0
    while hops < pages:
        nxt = service(cursor=cursor)()["next_cursor"]
        if nxt is None:
            break
        cursor, hops = nxt, hops + 1
    return hops, cursor


def _http(org: Org) -> Callable[[], Any]:
    import tempfile

    from fastapi.testclient import TestClient

    from chainproof.server.app import create_app
    from chainproof.server.settings import Settings

    settings = Settings.embedded(
        tempfile.mkdtemp(prefix="cp-bench-"), database_url=org.url, secret_key=org.secret_key
    )
    client = TestClient(create_app(settings, start_worker=False))
    headers = {"Authorization": f"Bearer {org.token}"}

    def get() -> Any:
        reply = client.get("/api/v1/overview", headers=headers)
        assert reply.status_code == 200, reply.text
        return reply

    return get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with scratch_database() as url:
        start = time.perf_counter()
        org = generate(url, workflows=args.workflows, runs=args.runs)
        print(
            f"data: {org.workflows} workflows, {org.runs} runs on PostgreSQL "
            f"(COPY load {org.load_seconds:.1f} s, 0015 backfill {org.backfill_seconds:.1f} s, "
            f"total setup {time.perf_counter() - start:.1f} s); {args.rounds} rounds each"
        )
        _bench(org, args.rounds)


if __name__ == "__main__":
    main()
