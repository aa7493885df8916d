"""Run init rules, reset, and the expiry job."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.conftest import Env
from tests.integration.server.helpers import GENERIC, init_run, read, setup_workflow

from chainproof.server.db.base import utcnow
from chainproof.server.jobs.expiry import expire_once


def test_init_returns_run_workflow_org_contract(app_client: Env) -> None:
    setup_workflow(app_client)
    reply = init_run(app_client, project_version="v1.2.3")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["run"]["status"] == "initialized"
    assert body["run"]["project_version"] == "v1.2.3"
    assert body["run"]["runner_type"] == "GENERIC"
    assert body["workflow"]["name"] == "build" and body["org"] == app_client.org
    assert body["contract"]["name"] == "p-c" and body["contract"]["revision"] == 1
    run = app_client.get(f"/runs/{body['run']['id']}").json()
    assert run["materials"] == [] and run["contract_revision"] == 1


def test_implicit_creation_on_and_off(app_client: Env) -> None:
    reply = init_run(app_client, project="new", workflow="wf")
    assert reply.status_code == 201, reply.text
    assert reply.json()["contract"]["name"] == "new-wf"
    assert app_client.get("/workflows/new/wf").status_code == 200

    raw = init_run(app_client, project="new", workflow="wf2", contract=read("contract.yaml"))
    assert raw.status_code == 201, raw.text
    assert raw.json()["contract"]["name"] == "new-wf2"
    assert len(raw.json()["contract"]["spec"]["spec"]["materials"]) == 4

    strict = app_client.new_org(allow_implicit_creation=False)
    refused = init_run(strict, project="new", workflow="wf")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"


def test_runner_mismatch(app_client: Env) -> None:
    setup_workflow(app_client, contract="contract-github-only.yaml")
    reply = init_run(app_client)
    assert reply.status_code == 422 and reply.json()["code"] == "runner_mismatch"
    ok = app_client.post(
        "/runs",
        {"workflow": "build", "project": "p", "runner": {"type": "GITHUB_ACTION", "env": {}}},
    )
    assert ok.status_code == 201


def test_env_allow_list_missing(app_client: Env) -> None:
    setup_workflow(app_client, contract="contract-env.yaml")
    reply = init_run(app_client)
    assert reply.status_code == 422
    assert reply.json()["code"] == "contract_not_satisfied"
    assert reply.json()["details"]["missing"] == ["RELEASE_CHANNEL"]
    runner = {**GENERIC, "env": {"RELEASE_CHANNEL": "stable"}}
    ok = app_client.post("/runs", {"workflow": "build", "project": "p", "runner": runner})
    assert ok.status_code == 201


def test_blocked_workflow(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.patch("/workflows/p/build", {"blocked": True})
    reply = init_run(app_client)
    assert reply.status_code == 403 and "blocked" in reply.json()["detail"]


def test_reset_and_state_machine(app_client: Env) -> None:
    setup_workflow(app_client)
    first = init_run(app_client).json()["run"]["id"]
    second = init_run(app_client).json()["run"]["id"]
    failed = app_client.post(f"/runs/{first}/reset", {"trigger": "failure", "reason": "tests"})
    assert failed.json()["status"] == "failed" and failed.json()["reason"] == "tests"
    assert failed.json()["finished_at"]
    cancelled = app_client.post(f"/runs/{second}/reset", {"trigger": "cancellation"})
    assert cancelled.json()["status"] == "cancelled"
    again = app_client.post(f"/runs/{first}/reset", {"trigger": "cancellation"})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    listed = app_client.get("/runs", params={"status": "failed"}).json()["items"]
    assert [r["id"] for r in listed] == [first]
    newest_first = [r["id"] for r in app_client.get("/runs").json()["items"]]
    assert newest_first == [second, first]


def test_expiry_job_marks_initialized_runs_expired(app_client: Env) -> None:
    setup_workflow(app_client)
    stale = init_run(app_client).json()["run"]["id"]
    done = init_run(app_client).json()["run"]["id"]
    app_client.post(f"/runs/{done}/reset", {"trigger": "failure"})
    later = utcnow() + timedelta(seconds=app_client.settings.run_expiry_seconds + 5)
    assert expire_once(app_client.sessions, later) >= 1
    assert app_client.get(f"/runs/{stale}").json()["status"] == "expired"
    assert app_client.get(f"/runs/{done}").json()["status"] == "failed"
    late = app_client.post(f"/runs/{stale}/reset", {"trigger": "failure"})
    assert late.status_code == 409
