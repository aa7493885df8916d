"""Lifecycle: rename and describe, archive and unarchive, delete, attach another contract,
and the organisation's default contract for implicitly created workflows."""

from __future__ import annotations

import pytest
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, read, setup_workflow
from tests.integration.server.test_blocks import user_token


def _names(env: Env, **params: object) -> list[str]:
    return [w["name"] for w in env.get("/workflows", params=params).json()["items"]]


def test_rename_workflow(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.post("/workflows", {"name": "lint", "project": "p"})
    run_id = init_run(app_client).json()["run"]["id"]
    busy = app_client.post("/workflows/p/build/rename", {"to": "release"})
    assert busy.status_code == 409 and "in progress" in busy.json()["detail"]
    app_client.post(f"/runs/{run_id}/reset", {"trigger": "cancellation"})
    taken = app_client.post("/workflows/p/build/rename", {"to": "lint"})
    assert taken.status_code == 409 and taken.json()["code"] == "conflict"
    bad = app_client.post("/workflows/p/build/rename", {"to": "no spaces"})
    assert bad.status_code == 400
    renamed = app_client.post("/workflows/p/build/rename", {"to": "release"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "release"
    assert app_client.get("/workflows/p/build").status_code == 404
    # history follows the workflow
    assert app_client.get(f"/runs/{run_id}").json()["workflow"] == "release"
    (event,) = app_client.get("/audit", params={"action": "workflow.rename"}).json()["items"]
    assert event["data"] == {"project": "p", "old": "build", "new": "release"}


def test_rename_and_describe_project(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.post("/workflows", {"name": "lint", "project": "p"})
    app_client.post("/workflows/p/lint/archive")
    app_client.post("/projects", {"name": "q"})
    described = app_client.get("/projects/p").json()
    assert described["workflows"] == 2 and described["archived_workflows"] == 1
    assert described["blocked"] is False
    assert app_client.post("/projects/p/rename", {"to": "q"}).status_code == 409
    run_id = init_run(app_client).json()["run"]["id"]
    assert app_client.post("/projects/p/rename", {"to": "shop"}).status_code == 409
    app_client.post(f"/runs/{run_id}/reset", {"trigger": "failure"})
    renamed = app_client.post("/projects/p/rename", {"to": "shop"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "shop"
    assert app_client.get("/projects/p").status_code == 404
    assert app_client.get("/workflows/shop/build").json()["project"] == "shop"
    assert app_client.get(f"/runs/{run_id}").json()["project"] == "shop"
    assert app_client.get("/audit", params={"action": "project.rename"}).json()["items"]


def test_archive_hides_refuses_init_and_keeps_history(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.post("/workflows", {"name": "lint", "project": "p"})
    run_id = init_run(app_client).json()["run"]["id"]
    archived = app_client.post("/workflows/p/build/archive").json()
    assert archived["archived"] is True and archived["archived_at"].endswith("Z")
    assert app_client.post("/workflows/p/build/archive").status_code == 409
    assert _names(app_client) == ["lint"]
    assert _names(app_client, archived="only") == ["build"]
    assert _names(app_client, archived="all") == ["build", "lint"]
    assert app_client.get("/workflows", params={"archived": "bogus"}).status_code == 422
    refused = init_run(app_client)
    assert refused.status_code == 409 and "archived" in refused.json()["detail"]
    assert "chainproof workflow unarchive --name build --project p" in refused.json()["hint"]
    assert app_client.get(f"/runs/{run_id}").status_code == 200
    assert app_client.get("/workflows/p/build").json()["archived"] is True
    back = app_client.post("/workflows/p/build/unarchive").json()
    assert back["archived"] is False and back["archived_at"] is None
    assert app_client.post("/workflows/p/build/unarchive").status_code == 409
    assert init_run(app_client).status_code == 201
    actions = [
        e["action"]
        for e in app_client.get("/audit", params={"resource": "p/build"}).json()["items"]
    ]
    assert actions[:2] == ["workflow.unarchive", "workflow.archive"]


def test_delete_only_without_runs(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.post("/workflows", {"name": "typo", "project": "p"})
    robot = app_client.robot("typo-robot", project="p", workflow="typo")
    init_run(app_client)
    refused = app_client.delete("/workflows/p/build")
    assert refused.status_code == 409 and refused.json()["details"]["runs"] == 1
    assert "chainproof workflow archive --name build --project p" in refused.json()["hint"]
    assert app_client.delete("/workflows/p/typo").status_code == 204
    assert app_client.get("/workflows/p/typo").status_code == 404
    assert app_client.delete("/workflows/p/typo").status_code == 404
    # tokens scoped to the deleted workflow go with it
    assert app_client.get("/runs", token=robot).status_code == 401
    (event,) = app_client.get("/audit", params={"action": "workflow.delete"}).json()["items"]
    assert event["data"] == {"project": "p", "name": "typo"}


@pytest.mark.parametrize("role", ["robot", "member"])
def test_lifecycle_needs_owner_or_admin(app_client: Env, role: str) -> None:
    setup_workflow(app_client)
    token = app_client.robot() if role == "robot" else user_token(app_client, role)
    for path, body in (
        ("/workflows/p/build/rename", {"to": "x"}),
        ("/workflows/p/build/archive", None),
        ("/workflows/p/build/unarchive", None),
        ("/projects/p/rename", {"to": "x"}),
    ):
        reply = app_client.post(path, body, token=token)
        assert reply.status_code == 403, (path, reply.text)
    assert app_client.delete("/workflows/p/build", token=token).status_code == 403
    assert app_client.get("/workflows/p/build").json()["name"] == "build"


def test_update_contract_attaches_another(app_client: Env) -> None:
    setup_workflow(app_client)
    app_client.post("/contracts", {"name": "strict", "raw": read("contract-v2.yaml")})
    updated = app_client.patch("/workflows/p/build", {"contract": "strict"})
    assert updated.status_code == 200 and updated.json()["contract"] == "strict"
    assert init_run(app_client).json()["contract"]["name"] == "strict"
    assert app_client.patch("/workflows/p/build", {"contract": "nope"}).status_code == 404


def test_default_contract_for_implicit_creation(app_client: Env) -> None:
    app_client.post("/contracts", {"name": "baseline", "raw": read("contract.yaml")})
    missing = app_client.patch("/org", {"default_contract": "nope"})
    assert missing.status_code == 404
    org = app_client.patch("/org", {"default_contract": "baseline"}).json()
    assert org["default_contract"] == "baseline"
    assert app_client.get("/org").json()["default_contract"] == "baseline"
    runner = {"type": "GENERIC", "url": None, "env": {"RELEASE_CHANNEL": "stable"}}
    init = app_client.post("/runs", {"workflow": "typo", "project": "new", "runner": runner})
    assert init.status_code == 201, init.text
    assert init.json()["contract"]["name"] == "baseline"
    created = app_client.post("/workflows", {"name": "lint", "project": "new"}).json()
    assert created["contract"] == "baseline"
    explicit = app_client.post("/contracts", {"name": "other", "raw": read("contract.yaml")})
    assert explicit.status_code == 201
    chosen = app_client.post(
        "/workflows", {"name": "pick", "project": "new", "contract": "other"}
    ).json()
    assert chosen["contract"] == "other"
    cleared = app_client.patch("/org", {"default_contract": None}).json()
    assert cleared["default_contract"] is None
    plain = app_client.post("/workflows", {"name": "plain", "project": "new"}).json()
    assert plain["contract"] == "new-plain"
    (event, *_) = app_client.get("/audit", params={"action": "org.update"}).json()["items"]
    assert event["data"]["default_contract"] is None
