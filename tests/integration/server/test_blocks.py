"""Blocking workflows and projects: who may, what init and an in-progress push meet, lists."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow
from tests.integration.server.test_push import _materials, _sign, _start, _statement, _upload


def user_token(env: Env, role: str) -> str:
    from chainproof.server.services import orgs, tokens

    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, f"{role}-user", role)
        _, secret = tokens.create_user_token(session, org, user, role, f"{role}-token")
    return secret


def _push(env: Env, init: dict[str, Any]) -> Any:
    run_id = init["run"]["id"]
    _upload(env, run_id)
    bundle = _sign(env, init, _statement(env, init))
    return env.post(f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()})


def test_block_refuses_init_with_reason_who_and_when(app_client: Env) -> None:
    setup_workflow(app_client)
    reply = app_client.post("/workflows/p/build/block", {"reason": "incident 42"})
    assert reply.status_code == 200, reply.text
    wf = reply.json()
    assert wf["blocked"] is True
    assert wf["block"]["scope"] == "workflow" and wf["block"]["reason"] == "incident 42"
    assert wf["block"]["by"] == f"{app_client.org['name']}-owner"
    assert wf["block"]["at"].endswith("Z")

    refused = init_run(app_client)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "blocked"
    assert "incident 42" in problem["detail"] and wf["block"]["by"] in problem["detail"]
    assert "chainproof workflow unblock --name build --project p" in problem["hint"]
    assert problem["details"]["reason"] == "incident 42"

    again = app_client.post("/workflows/p/build/block", {"reason": "another"})
    assert again.status_code == 409 and "incident 42" in again.json()["detail"]
    lifted = app_client.post("/workflows/p/build/unblock", {"reason": "fixed"}).json()
    assert lifted["blocked"] is False and lifted["block"] is None
    assert init_run(app_client).status_code == 201
    assert app_client.post("/workflows/p/build/unblock", {}).status_code == 409


def test_block_needs_a_reason(app_client: Env) -> None:
    setup_workflow(app_client)
    assert app_client.post("/workflows/p/build/block", {"reason": ""}).status_code == 422
    assert app_client.post("/workflows/p/build/block", {"reason": "   "}).status_code == 400
    assert app_client.post("/workflows/p/build/block", {}).status_code == 422


@pytest.mark.parametrize("role", ["robot", "member", "viewer"])
def test_only_owners_and_admins_block(app_client: Env, role: str) -> None:
    setup_workflow(app_client)
    token = app_client.robot() if role == "robot" else user_token(app_client, role)
    for path in ("/workflows/p/build/block", "/projects/p/block"):
        reply = app_client.post(path, {"reason": "no"}, token=token)
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden", path
    admin = user_token(app_client, "admin")
    assert app_client.post("/projects/p/block", {"reason": "ok"}, token=admin).status_code == 200
    reply = app_client.post("/projects/p/unblock", {}, token=token)
    assert reply.status_code == 403
    assert app_client.post("/projects/p/unblock", {}, token=admin).status_code == 200


def test_push_of_a_run_in_progress_when_blocked_is_refused_and_recorded(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    bundle = _sign(app_client, init, _statement(app_client, init))
    app_client.post("/workflows/p/build/block", {"reason": "compromised runner"})
    refused = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "blocked"
    assert "compromised runner" in refused.json()["detail"]
    run = app_client.get(f"/runs/{run_id}").json()
    assert run["status"] == "failed" and run["reason"] == "workflow blocked: compromised runner"
    assert run["attestation_digest"] is None and run["finished_at"]
    assert app_client.get(f"/runs/{run_id}/bundle").status_code == 404
    # the run is over: unblocking does not let it land later
    app_client.post("/workflows/p/build/unblock", {})
    late = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert late.status_code == 409 and "compromised runner" in late.json()["detail"]
    actions = [
        e["action"] for e in app_client.get("/audit", params={"resource": run_id}).json()["items"]
    ]
    assert "run.refused" in actions


def test_push_lands_when_the_block_came_after_it(app_client: Env) -> None:
    init = _start(app_client)
    assert _push(app_client, init).status_code == 200
    app_client.post("/workflows/p/build/block", {"reason": "later"})
    run = app_client.get(f"/runs/{init['run']['id']}").json()
    assert run["status"] == "succeeded"


def test_project_block_blocks_its_workflows_and_their_pushes(app_client: Env) -> None:
    init = _start(app_client)
    app_client.post("/workflows", {"name": "lint", "project": "p"})
    app_client.post("/workflows", {"name": "other", "project": "q"})
    reply = app_client.post("/projects/p/block", {"reason": "audit freeze"})
    assert reply.status_code == 200 and reply.json()["block"]["reason"] == "audit freeze"
    for workflow in ("build", "lint"):
        refused = init_run(app_client, workflow=workflow)
        assert refused.status_code == 403 and "project p is blocked" in refused.json()["detail"]
        assert "chainproof project unblock --name p" in refused.json()["hint"]
    assert init_run(app_client, project="q", workflow="other").status_code == 201
    pushed = _push(app_client, init)
    assert pushed.status_code == 403
    run = app_client.get(f"/runs/{init['run']['id']}").json()
    assert run["reason"] == "project blocked: audit freeze"

    blocked = app_client.get("/workflows", params={"blocked": True}).json()["items"]
    assert [(w["name"], w["block"]["scope"]) for w in blocked] == [
        ("build", "project"),
        ("lint", "project"),
    ]
    projects = app_client.get("/projects", params={"blocked": True}).json()["items"]
    assert [p["name"] for p in projects] == ["p"]
    app_client.post("/projects/p/unblock", {"reason": "done"})
    assert app_client.get("/workflows", params={"blocked": True}).json()["items"] == []
    assert init_run(app_client, workflow="lint").status_code == 201


def test_workflow_list_blocked_shows_own_blocks(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.post("/workflows", {"name": "lint", "project": "p"})
    app_client.post("/workflows/p/lint/block", {"reason": "flaky"})
    listed = app_client.get("/workflows", params={"blocked": True}).json()["items"]
    assert [(w["name"], w["block"]["reason"]) for w in listed] == [("lint", "flaky")]
    assert len(app_client.get("/workflows").json()["items"]) == 2


def test_blocks_and_unblocks_are_audited(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.post("/workflows/p/build/block", {"reason": "incident"})
    app_client.post("/workflows/p/build/unblock", {"reason": "resolved"})
    app_client.post("/projects/p/block", {"reason": "freeze"})
    events = app_client.get("/audit", params={"action": "workflow"}).json()["items"]
    by_action = {e["action"]: e for e in events}
    assert by_action["workflow.block"]["data"]["reason"] == "incident"
    unblock = by_action["workflow.unblock"]
    assert unblock["data"]["reason"] == "resolved"
    assert unblock["data"]["lifted"]["reason"] == "incident"
    assert unblock["actor"] == f"{app_client.org['name']}-owner"
    assert unblock["resource_name"] == "p/build"
    (project_event,) = app_client.get("/audit", params={"action": "project.block"}).json()["items"]
    assert project_event["data"]["reason"] == "freeze" and project_event["resource_name"] == "p"
