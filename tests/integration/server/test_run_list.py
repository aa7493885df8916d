"""``GET /runs``: filters (project, workflow, version, status, runner, policy result, time
range) and keyset paging that stays stable while runs arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from tests.integration.conftest import Env
from tests.integration.server import history as h

from chainproof.server.db import WorkflowRun

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _ids(env: Env, **params: Any) -> list[str]:
    reply = env.get("/runs", params={"limit": 500, **params})
    assert reply.status_code == 200, reply.text
    assert reply.json()["next_cursor"] is None
    return [r["id"] for r in reply.json()["items"]]


def _at(env: Env, run_id: str, when: datetime) -> None:
    with env.sessions.begin() as session:
        session.execute(update(WorkflowRun).where(WorkflowRun.id == run_id).values(created_at=when))


def test_filters(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "api", h.ADVISORY)
    h.workflow(env, "web", "site", h.PLAIN)
    violated = h.run(env, "shop", "api", "pushed", project_version="1.0")["id"]
    passed_env = env.put("/contracts/shop-api", {"raw": h.PLAIN})
    assert passed_env.status_code == 200
    nothing = h.run(env, "shop", "api", "pushed", project_version="2.0")["id"]
    failed = h.run(env, "web", "site", "failed")["id"]
    github = h.init(env, "web", "site", runner={"type": "GITHUB_ACTION", "env": {}})["run"]["id"]
    for n, run_id in enumerate([violated, nothing, failed, github]):
        _at(env, run_id, T0 + timedelta(days=n))

    assert _ids(env) == [github, failed, nothing, violated]
    assert _ids(env, project="shop") == [nothing, violated]
    assert _ids(env, workflow="site") == [github, failed]
    assert _ids(env, project="web", workflow="api") == []
    assert _ids(env, version="1.0") == [violated]
    assert _ids(env, version="1.0", project="web") == []
    assert _ids(env, status="failed") == [failed]
    assert _ids(env, runner="GITHUB_ACTION") == [github]
    assert _ids(env, policy="violated") == [violated]
    assert _ids(env, policy="none") == [github, failed, nothing]
    assert _ids(env, policy="passed") == []
    since = (T0 + timedelta(days=1)).isoformat()
    until = (T0 + timedelta(days=3)).isoformat()
    assert _ids(env, since=since) == [github, failed, nothing]
    assert _ids(env, since=since, until=until) == [failed, nothing]
    assert _ids(env, until="2026-11-03T08:00:00") == [violated]  # exclusive; no zone: UTC
    assert _ids(env, until="2026-11-03T08:00:01") == [nothing, violated]
    bad = env.get("/runs", params={"policy": "green"})
    assert bad.status_code == 400 and "passed, violated, none" in bad.json()["hint"]
    assert env.new_org().get("/runs", params={"project": "shop"}).json()["items"] == []
    robot = env.robot("shop-ci", project="shop")
    scoped = env.get("/runs", token=robot, params={"status": "succeeded"}).json()["items"]
    assert [r["id"] for r in scoped] == [nothing, violated]
    assert env.get("/runs", token=robot, params={"project": "web"}).json()["items"] == []


def test_policy_passed(app_client: Env) -> None:
    contract = h._contract(materials="{ref: sbom-banned-licenses, with: {licenses: GPL-3.0}}")
    h.workflow(app_client, "shop", "ok", contract)
    run = h.run(app_client, "shop", "ok", "pushed")
    assert run["policy_result"] == "passed"
    assert _ids(app_client, policy="passed") == [run["id"]]


def test_keyset_pages_are_stable_while_runs_arrive(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "api", h.PLAIN)
    runs = [h.init(env, "shop", "api")["run"]["id"] for _ in range(7)]
    for run_id in runs[:4]:  # ties on created_at: the id breaks them
        _at(env, run_id, T0)
    for n, run_id in enumerate(runs[4:], 1):
        _at(env, run_id, T0 + timedelta(hours=n))
    expected = _ids(env)
    assert expected[:3] == runs[:3:-1] and sorted(expected[3:], reverse=True) == expected[3:]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = env.get("/runs", params=params).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if pages == 1:  # a new run arrives between the first and the second page
            newest = h.init(env, "shop", "api")["run"]["id"]
        if not cursor:
            break
    assert seen == expected and pages == 3
    assert _ids(env)[0] == newest

    bad = env.get("/runs", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
