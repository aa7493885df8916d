"""Per-workflow summaries follow every run transition, and the overview reads them:
owner, contract, last run, compliance and standing per workflow, organisation totals."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.integration.conftest import Env
from tests.integration.server import history as h
from tests.pg import pg_database

from chainproof.server.bootstrap import create_org
from chainproof.server.db import Workflow, WorkflowRun, WorkflowStats
from chainproof.server.db.base import utcnow
from chainproof.server.db.migrate import migrate
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services import tokens, workflow_stats, workflows


def _stats(env: Env, project: str, name: str) -> WorkflowStats:
    wf = env.get(f"/workflows/{project}/{name}").json()
    with env.sessions() as session:
        row = session.scalar(select(WorkflowStats).where(WorkflowStats.workflow_id == wf["id"]))
        assert row is not None
        session.expunge(row)
        return row


def _counts(row: WorkflowStats) -> dict[str, int]:
    names = ("total", "initialized", "succeeded", "blocked", "failed", "cancelled", "expired")
    return {n: getattr(row, f"runs_{n}") for n in names}


def test_summary_follows_every_transition(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "api", h.ADVISORY)
    started = h.init(env, "shop", "api")
    row = _stats(env, "shop", "api")
    assert (row.last_run_id, row.last_run_status) == (started["run"]["id"], "initialized")
    assert row.last_runner_type == "GENERIC" and row.recent_statuses == ""
    assert _counts(row)["initialized"] == 1 and _counts(row)["total"] == 1

    violated = h.push(env, started)
    assert violated["status"] == "succeeded" and violated["policy_result"] == "violated"
    row = _stats(env, "shop", "api")
    assert row.recent_statuses == "v" and row.last_success_revision == 1
    assert row.last_run_status == "succeeded" and _counts(row)["initialized"] == 0

    h.run(env, "shop", "api", "failed")
    h.run(env, "shop", "api", "cancelled")
    h.run(env, "shop", "api", "expired")
    assert env.put("/contracts/shop-api", {"raw": h.GATED}).status_code == 200
    blocked = h.run(env, "shop", "api", "pushed")
    assert blocked["status"] == "blocked" and blocked["contract_revision"] == 2
    assert env.put("/contracts/shop-api", {"raw": h.PLAIN}).status_code == 200
    passed = h.run(env, "shop", "api", "pushed")
    assert passed["status"] == "succeeded" and passed["policy_result"] == "none"
    last = h.init(env, "shop", "api")

    row = _stats(env, "shop", "api")
    assert row.recent_statuses == "sbecfv"  # newest first; the initialized run is not there
    assert row.recent_revisions == [3, 2, 1, 1, 1, 1] and row.last_finished_revision == 3
    assert _counts(row) == {
        "total": 7,
        "initialized": 1,
        "succeeded": 2,
        "blocked": 1,
        "failed": 1,
        "cancelled": 1,
        "expired": 1,
    }
    assert row.last_run_id == last["run"]["id"] and row.last_run_status == "initialized"
    assert row.last_success_run_id == passed["id"] and row.last_success_revision == 3


def test_summary_keeps_only_the_last_ten_outcomes(app_client: Env) -> None:
    h.workflow(app_client, "shop", "many", h.PLAIN)
    for _ in range(11):
        h.run(app_client, "shop", "many", "failed")
    h.run(app_client, "shop", "many", "cancelled")
    row = _stats(app_client, "shop", "many")
    assert row.recent_statuses == "c" + "f" * 9 and len(row.recent_revisions) == 10
    assert row.runs_failed == 11 and row.runs_total == 12


def _scripted(env: Env) -> None:
    """Six workflows in two projects, each in a different standing."""
    h.workflow(env, "shop", "compliant", h.PLAIN, team="payments")
    h.run(env, "shop", "compliant", "failed")
    h.run(env, "shop", "compliant", "pushed")
    h.workflow(env, "shop", "lagging", h.PLAIN, team="payments")
    h.run(env, "shop", "lagging", "pushed")
    assert env.put("/contracts/shop-lagging", {"raw": h.ADVISORY}).status_code == 200
    h.workflow(env, "shop", "failing", h.PLAIN)
    for outcome in ("pushed", "failed", "failed"):
        h.run(env, "shop", "failing", outcome)
    assert env.put("/contracts/shop-failing", {"raw": h.GATED}).status_code == 200
    h.run(env, "shop", "failing", "pushed")  # blocked: the third failure in a row
    h.workflow(env, "shop", "violating", h.ADVISORY)
    h.run(env, "shop", "violating", "pushed")
    h.run(env, "web", "typo", "cancelled")  # implicit creation: the empty contract
    h.workflow(env, "web", "frozen", h.PLAIN, team="web")
    with env.sessions.begin() as session:
        session.execute(update(Workflow).where(Workflow.name == "frozen").values(blocked=True))


def _by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The page's workflows by name, in the order listed."""
    return {w["name"]: w for p in body["projects"] for w in p["workflows"]}


def test_overview_of_a_scripted_history(app_client: Env) -> None:
    _scripted(app_client)
    reply = app_client.get("/overview")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    open_findings = body["totals"].pop("open_findings")
    assert open_findings == sum(w["open_findings"] for w in _by_name(body).values())
    assert body["totals"] == {
        "projects": 2,
        "workflows": 6,
        "integrated": 5,
        "compliant": 1,
        "lagging": 2,  # lagging, and failing's last success was on revision 1 of 2
        "failing": 1,
        "unmanaged": 1,
        "blocked": 1,
    }
    assert [p["name"] for p in body["projects"]] == ["shop", "web"]
    wf = _by_name(body)
    compliant = wf["compliant"]
    assert compliant["owner"] == "payments"
    assert compliant["contract"] == {"name": "shop-compliant", "revision": 1}
    assert compliant["last_run"]["status"] == "succeeded"
    assert compliant["last_run"]["runner_type"] == "GENERIC"
    assert compliant["recent"] == "sf" and compliant["compliance"] == 0.5
    assert compliant["compliant"] and not compliant["lagging"]
    lagging = wf["lagging"]
    assert lagging["contract"]["revision"] == 2 and lagging["last_success_revision"] == 1
    assert lagging["compliance"] == 0.0 and lagging["lagging"] and not lagging["compliant"]
    failing = wf["failing"]
    assert failing["recent"] == "bffs" and failing["failing"]
    assert failing["last_run"]["status"] == "blocked"
    violating = wf["violating"]
    assert violating["recent"] == "v" and violating["compliance"] == 0.0
    assert not violating["compliant"] and not violating["lagging"]
    assert wf["typo"]["unmanaged"] and wf["typo"]["compliance"] == 0.0
    frozen = wf["frozen"]
    assert frozen["blocked"] and frozen["last_run"] is None and frozen["compliance"] is None
    # findings are reconciled on every run: a workflow with no runs has none yet, a failing
    # or unmanaged one has its finding open
    assert frozen["open_findings"] == 0
    assert wf["failing"]["open_findings"] >= 1 and wf["typo"]["open_findings"] >= 1
    only_web = app_client.get("/overview", params={"project": "web"}).json()
    assert [p["name"] for p in only_web["projects"]] == ["web"]
    assert only_web["totals"]["workflows"] == 2


def test_overview_pages_workflows_and_keeps_the_totals(app_client: Env) -> None:
    _scripted(app_client)
    whole = app_client.get("/overview").json()
    first = app_client.get("/overview", params={"limit": 3}).json()
    assert first["totals"] == whole["totals"] and first["next_cursor"]
    second = app_client.get("/overview", params={"limit": 3, "cursor": first["next_cursor"]})
    assert second.status_code == 200 and second.json()["next_cursor"] is None
    names = list(_by_name(first)) + list(_by_name(second.json()))
    assert names == list(_by_name(whole)) and len(names) == 6
    assert [p["name"] for p in first["projects"]] == ["shop"]
    assert [p["name"] for p in second.json()["projects"]] == ["shop", "web"]


def test_overview_is_per_organisation_and_not_for_robots(app_client: Env) -> None:
    _scripted(app_client)
    other = app_client.new_org()
    assert other.get("/overview").json()["totals"]["workflows"] == 0
    robot = app_client.robot("ci")
    assert app_client.get("/overview", token=robot).status_code == 403


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_database()


@pytest.mark.postgres
def test_two_first_runs_at_once_both_count(pg_url: str) -> None:
    """PostgreSQL: the first two runs of a workflow in concurrent transactions make one
    summary that counts both (the second waits for the first's row, then locks it)."""
    migrate(pg_url)
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine, secret_key="k" * 64)
    with sessions.begin() as session:
        org, token = create_org(session, "acme")
        actor = tokens.authenticate(session, token)
        wf_id = workflows.create(session, actor, name="build", project="shop").id
    first = sessions()
    workflow_stats.started(first, _new_run(org["id"], wf_id))
    first.flush()
    second = threading.Thread(target=_start_and_commit, args=(sessions, _new_run(org["id"], wf_id)))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting on the first transaction's new row
    first.commit()
    second.join(10)
    with sessions() as session:
        stats = session.get(WorkflowStats, wf_id)
        assert stats is not None and stats.runs_total == 2 and stats.runs_initialized == 2
    first.close()
    engine.dispose()


def _new_run(org_id: str, workflow_id: str) -> WorkflowRun:
    return WorkflowRun(
        id=str(uuid.uuid4()),
        org_id=org_id,
        workflow_id=workflow_id,
        status="initialized",
        runner_type="GENERIC",
        created_at=utcnow(),
    )


def _start_and_commit(sessions: Any, run: WorkflowRun) -> None:
    with sessions.begin() as session:
        workflow_stats.started(session, run)


def test_overview_leaves_archived_workflows_out_and_counts_project_blocks(
    app_client: Env,
) -> None:
    env = app_client
    for project, name in (("shop", "api"), ("shop", "old"), ("web", "site")):
        h.workflow(env, project, name, h.PLAIN)
    assert env.post("/workflows/shop/old/archive").status_code == 200
    assert env.post("/projects/web/block", {"reason": "incident 42"}).status_code == 200
    body = env.get("/overview").json()
    listed = _by_name(body)
    assert sorted(listed) == ["api", "site"]
    assert listed["site"]["blocked"] and not listed["api"]["blocked"]
    assert body["totals"]["workflows"] == 2 and body["totals"]["blocked"] == 1


def test_overview_pages_are_keyset_pages(app_client: Env) -> None:
    """The cursor names the last workflow shown: one added before it meanwhile neither
    repeats a workflow nor shifts the next page."""
    env = app_client
    for name in ("b", "d", "f"):
        h.init(env, "shop", name)  # implicit creation
    first = env.get("/overview", params={"limit": 2}).json()
    assert list(_by_name(first)) == ["b", "d"] and first["next_cursor"]
    h.init(env, "shop", "a")
    rest = env.get("/overview", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert list(_by_name(rest)) == ["f"] and rest["next_cursor"] is None
    assert rest["totals"]["workflows"] == 4
    assert env.get("/overview", params={"cursor": "bzoy"}).status_code == 400
