"""Server-side rendering of every page of the dashboard on a large PostgreSQL organisation
(issue 18's target: each page <= 300 ms server time at 10k workflows and 1M runs).

Generates ``--workflows`` workflows and ``--runs`` runs with COPY (org_data.py; runs spread
over 90 days, one pushed run in twenty with a policy violation; the runs' indexes and foreign
keys made after the load), plus an open finding on one workflow in ten and
``--audit-events`` audit events over 90 days (one INSERT .. SELECT each), in a throw-away
database. Then, through the ASGI app in process (TestClient, a browser's session cookie),
each over ``--rounds`` calls, p50 and p99 of: ``/`` (every figure of the overview; also with
the counts of settled days dropped before each call, so that it counts all 30 days),
``/workflows`` (a page of 50, a status filter, a deep keyset page), ``/workflows/{id}``,
``/runs`` (the first page, filtered pages, a page 100 keyset pages in), ``/runs/{id}``,
``/findings``, ``/contracts`` (and one contract), ``/contracts/{name}/rollout`` (the contract
on most workflows, and a project's) and ``/audit`` (filtered and deep); and, to show where
the overview's time goes, each of its queries through its service.

Baselines in the same run and process: ``GET /healthz`` and the JSON ``GET
/api/v1/overview`` (its totals and a page of 100).

    python benchmarks/bench_dashboard.py [--workflows 10000] [--runs 1000000]
        [--audit-events 200000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from org_data import Org, generate, scratch_database
from timing import line as _line
from timing import percentiles as _percentiles

from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services import dashboard, overview, tokens

TARGET_MS = 300.0


def _findings(url: str, org_id: str) -> int:
    """An open finding on every tenth workflow (kinds in turn), set-based."""
    engine = make_engine(url)
    with engine.begin() as conn:
        made = conn.execute(
            sa.text(
                "INSERT INTO findings (id, org_id, workflow_id, kind, severity, opened_at, "
                "evidence, details) "
                "SELECT gen_random_uuid()::text, org_id, id, "
                "(ARRAY['failing','lagging','unmanaged','stale'])[1 + (n / 10) % 4], 'medium', "
                "now() - interval '1 day', '[]'::json, '{}'::json "
                "FROM (SELECT id, org_id, row_number() OVER (ORDER BY id) AS n FROM workflows "
                "WHERE org_id = :org) w WHERE n % 10 = 0"
            ),
            {"org": org_id},
        ).rowcount
        conn.execute(sa.text("ANALYZE findings"))
    engine.dispose()
    return int(made)


def _audit(url: str, org_id: str, events: int) -> int:
    """``events`` audit events over 90 days (workflow, contract and finding actions in turn),
    one INSERT .. SELECT over generate_series."""
    engine = make_engine(url)
    with engine.begin() as conn:
        made = conn.execute(
            sa.text(
                "INSERT INTO audit_events (id, org_id, actor_token_id, action, target, at, data) "
                "SELECT gen_random_uuid()::text, :org, NULL, "
                "(ARRAY['workflow.block','contract.update','finding.acknowledge'])[1 + n % 3], "
                "'target-' || (n % 1000), "
                "timestamptz '2026-12-07 12:00Z' - n * (interval '90 days' / :events), "
                "json_build_object('reason', 'bench ' || n) "
                "FROM generate_series(1, :events) AS n"
            ),
            {"org": org_id, "events": events},
        ).rowcount
        conn.execute(sa.text("ANALYZE audit_events"))
    engine.dispose()
    return int(made)


def _client(org: Org) -> Any:
    """A TestClient over the app, signed in with the owner token (the session cookie)."""
    from fastapi.testclient import TestClient

    from chainproof.server.app import create_app
    from chainproof.server.settings import Settings

    settings = Settings.embedded(
        tempfile.mkdtemp(prefix="cp-bench-"), database_url=org.url, secret_key=org.secret_key
    )
    client = TestClient(create_app(settings, start_worker=False))
    form = client.get("/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    signed = client.post(
        "/sign-in", data={"token": org.token, "csrf": csrf.group(1)}, follow_redirects=False
    )
    assert signed.status_code == 303, signed.text
    return client


def _get(client: Any, path: str, **headers: str) -> Callable[[], Any]:
    def get() -> Any:
        reply = client.get(path, headers=headers)
        assert reply.status_code == 200, (path, reply.status_code, reply.text[:500])
        return reply

    return get


def _bench(org: Org, rounds: int) -> None:
    client = _client(org)
    engine = make_engine(org.url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        actor = tokens.authenticate(session, org.token)
        some = session.scalar(sa.text("SELECT id FROM workflows ORDER BY name LIMIT 1 OFFSET 77"))
    bearer = {"Authorization": f"Bearer {org.token}"}

    print("baselines (same process):")
    _line("GET /healthz", *_percentiles(_get(client, "/healthz"), rounds))
    _line("GET /api/v1/overview (JSON, page of 100)", *_percentiles(
        _get(client, "/api/v1/overview", **bearer), rounds))  # fmt: skip

    print(f"pages (HTML rendered on the server, target p99 <= {TARGET_MS:.0f} ms):")
    _line("GET / (overview)", *_percentiles(_get(client, "/"), rounds), TARGET_MS)
    home = _get(client, "/")

    def cold() -> Any:
        dashboard.forget_settled()  # every round counts the whole 30 days again
        return home()

    _line("GET / (overview), no settled days kept", *_percentiles(cold, rounds), TARGET_MS)
    _line("GET /workflows (page of 50)", *_percentiles(_get(client, "/workflows"), rounds),
          TARGET_MS)  # fmt: skip
    failing = _get(client, "/workflows?status=failing")
    _line("GET /workflows?status=failing", *_percentiles(failing, rounds), TARGET_MS)
    project = _get(client, "/workflows?project=project-00042")
    _line("GET /workflows?project=project-00042", *_percentiles(project, rounds), TARGET_MS)
    deep = _deep(client, "/workflows", hops=100)
    _line("GET /workflows, after 100 keyset pages", *_percentiles(_get(client, deep), rounds),
          TARGET_MS)  # fmt: skip
    one = _get(client, f"/workflows/{some}")
    _line("GET /workflows/{id}", *_percentiles(one, rounds), TARGET_MS)

    _evidence_pages(org, client, sessions, rounds)

    def service(fn: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as session:
                return fn(session, actor)

        return run

    print("the overview's queries (service calls):")
    _line("overview.by_project (totals per project)", *_percentiles(
        service(overview.by_project), rounds))  # fmt: skip
    _line("dashboard.runs_per_day (30 days; settled kept)", *_percentiles(
        service(dashboard.runs_per_day), rounds))  # fmt: skip

    def whole_window(session: Any, actor: Any) -> Any:
        dashboard.forget_settled()
        return dashboard.runs_per_day(session, actor)

    _line("dashboard.runs_per_day (30 days counted)", *_percentiles(
        service(whole_window), rounds))  # fmt: skip
    _line("dashboard.recent_violations", *_percentiles(
        service(dashboard.recent_violations), rounds))  # fmt: skip
    _line("dashboard.findings_by_kind", *_percentiles(
        service(dashboard.findings_by_kind), rounds))  # fmt: skip
    client.close()
    engine.dispose()


def _evidence_pages(org: Org, client: Any, sessions: Any, rounds: int) -> None:
    """The runs, run, findings, contracts, rollout and audit pages."""
    with sessions() as session:
        run = session.scalar(sa.text(
            "SELECT id FROM workflow_runs WHERE status = 'succeeded' ORDER BY created_at DESC "
            "LIMIT 1 OFFSET 5000"))  # fmt: skip
        wide = session.scalar(sa.text(  # the unmanaged contract: on one workflow in twenty
            "SELECT c.name FROM contracts c JOIN workflows w ON w.contract_id = c.id "
            "GROUP BY c.name ORDER BY count(*) DESC LIMIT 1"))  # fmt: skip
        narrow = session.scalar(sa.text("SELECT name FROM contracts ORDER BY name LIMIT 1"))
    pages = [
        ("GET /runs (page of 25)", "/runs"),
        ("GET /runs?status=failed&runner=GENERIC", "/runs?status=failed&runner=GENERIC"),
        ("GET /runs?project=project-00042&since=7d", "/runs?project=project-00042&since=7d"),
        ("GET /runs?workflow=wf-000077", "/runs?workflow=wf-000077"),
        ("GET /runs, after 100 keyset pages", _deep(client, "/runs", hops=100)),
        ("GET /runs/{id} (a pushed run)", f"/runs/{run}"),
        ("GET /findings (open, page of 25)", "/findings"),
        ("GET /findings?kind=failing", "/findings?kind=failing"),
        ("GET /findings, after 10 keyset pages", _deep(client, "/findings", hops=10)),
        ("GET /contracts (page of 50)", "/contracts"),
        ("GET /contracts, after 10 keyset pages", _deep(client, "/contracts", hops=10)),
        ("GET /contracts/{name}", f"/contracts/{narrow}"),
        (f"GET /contracts/{{name}}/rollout ({wide})", f"/contracts/{wide}/rollout"),
        ("GET /contracts/{name}/rollout (a project's)", f"/contracts/{narrow}/rollout"),
        ("GET /audit (page of 50)", "/audit"),
        ("GET /audit?action=workflow&since=30d", "/audit?action=workflow&since=30d"),
        ("GET /audit?resource=project-00042", "/audit?resource=project-00042"),
        ("GET /audit, after 100 keyset pages", _deep(client, "/audit", hops=100)),
    ]
    for name, path in pages:
        _line(name, *_percentiles(_get(client, path), rounds), TARGET_MS)


def _deep(client: Any, url: str, hops: int) -> str:
    """The URL ``hops`` pages after ``url`` (cursors followed outside the timing)."""
    for _ in range(hops):
        found = re.search(r'href="([^"]+)" rel="next"', client.get(url).text)
        if found is None:
            break
        url = found.group(1).replace("&amp;", "&")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--audit-events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with scratch_database() as url:
        start = time.perf_counter()
        org = generate(url, workflows=args.workflows, runs=args.runs)
        findings = _findings(url, org.org_id)
        events = _audit(url, org.org_id, args.audit_events)
        print(
            f"data: {org.workflows} workflows, {org.runs} runs, {findings} open findings, "
            f"{events} audit events on "
            f"PostgreSQL (COPY load {org.load_seconds:.1f} s, summaries backfill "
            f"{org.backfill_seconds:.1f} s, total setup {time.perf_counter() - start:.1f} s); "
            f"{args.rounds} rounds each"
        )
        _bench(org, args.rounds)


if __name__ == "__main__":
    main()
