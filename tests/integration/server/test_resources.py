"""Projects, contracts (with revisions) and workflows."""

from __future__ import annotations

from tests.integration.conftest import Env
from tests.integration.server.helpers import read


def test_projects_create_list_conflict(app_client: Env) -> None:
    created = app_client.post("/projects", {"name": "web"})
    assert created.status_code == 201
    assert set(created.json()) == {"id", "name", "created_at", "blocked", "block"}
    assert created.json()["created_at"].endswith("Z")
    again = app_client.post("/projects", {"name": "web"})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    names = [p["name"] for p in app_client.get("/projects").json()["items"]]
    assert names == ["web"]


def test_pagination_follows_cursor(app_client: Env) -> None:
    for i in range(5):
        app_client.post("/projects", {"name": f"p{i}"})
    first = app_client.get("/projects", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = [p["name"] for p in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = app_client.get("/projects", params={"limit": 2, "cursor": cursor}).json()
        seen += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"p{i}" for i in range(5)]


def test_contract_revisions(app_client: Env) -> None:
    raw = read("contract.yaml")
    created = app_client.post("/contracts", {"name": "release", "raw": raw}).json()
    assert created["revision"] == 1 and created["latest_revision"] == 1
    assert created["raw"] == raw
    assert [m["name"] for m in created["spec"]["spec"]["materials"]][:2] == ["sbom", "image"]
    assert app_client.post("/contracts", {"name": "release", "raw": raw}).status_code == 409

    same = app_client.put("/contracts/release", {"raw": raw + "\n# only a comment\n"}).json()
    assert same["revision"] == 1
    changed = app_client.put("/contracts/release", {"raw": read("contract-v2.yaml")}).json()
    assert changed["revision"] == 2 and changed["latest_revision"] == 2

    old = app_client.get("/contracts/release", params={"revision": 1}).json()
    assert old["revision"] == 1 and old["latest_revision"] == 2 and old["raw"] == raw
    assert app_client.get("/contracts/release").json()["revision"] == 2
    assert app_client.get("/contracts/release", params={"revision": 9}).status_code == 404
    listed = app_client.get("/contracts").json()["items"]
    assert [(c["name"], c["revision"]) for c in listed] == [("release", 2)]


def test_invalid_contract_is_422_with_details(app_client: Env) -> None:
    reply = app_client.post("/contracts", {"name": "bad", "raw": read("contract-bad-field.yaml")})
    assert reply.status_code == 422
    problem = reply.json()
    assert problem["code"] == "invalid_contract"
    assert problem["details"].get("line")


def test_workflows(app_client: Env) -> None:
    app_client.post("/projects", {"name": "p"})
    app_client.post("/contracts", {"name": "release", "raw": read("contract.yaml")})
    wf = app_client.post(
        "/workflows", {"name": "build", "project": "p", "team": "t", "contract": "release"}
    )
    assert wf.status_code == 201
    assert wf.json()["contract"] == "release" and wf.json()["blocked"] is False
    plain = app_client.post("/workflows", {"name": "lint", "project": "p"}).json()
    assert plain["contract"] == "p-lint"
    assert app_client.get("/contracts/p-lint").json()["spec"]["spec"]["materials"] == []
    assert app_client.post("/workflows", {"name": "lint", "project": "p"}).status_code == 409
    got = app_client.get("/workflows/p/build").json()
    assert got["team"] == "t" and got["project"] == "p"
    names = [
        w["name"] for w in app_client.get("/workflows", params={"project": "p"}).json()["items"]
    ]
    assert names == ["build", "lint"]
    blocked = app_client.patch("/workflows/p/build", {"blocked": True}).json()
    assert blocked["blocked"] is True


def test_workflow_create_makes_its_missing_project(app_client: Env) -> None:
    app_client.post("/contracts", {"name": "release", "raw": read("contract.yaml")})
    assert app_client.get("/projects").json()["items"] == []
    body = {"name": "build", "project": "shop", "contract": "release"}
    wf = app_client.post("/workflows", body)
    assert wf.status_code == 201, wf.text
    assert wf.json()["project"] == "shop" and wf.json()["contract"] == "release"
    assert [p["name"] for p in app_client.get("/projects").json()["items"]] == ["shop"]
    # A second workflow joins the project made by the first.
    assert app_client.post("/workflows", {"name": "lint", "project": "shop"}).status_code == 201
    assert len(app_client.get("/projects").json()["items"]) == 1


def test_workflow_create_with_unknown_contract_makes_no_project(app_client: Env) -> None:
    reply = app_client.post("/workflows", {"name": "build", "project": "shop", "contract": "x"})
    assert reply.status_code == 404
    assert app_client.get("/projects").json()["items"] == []


def test_workflow_create_respects_disabled_implicit_creation(app_client: Env) -> None:
    strict = app_client.new_org(allow_implicit_creation=False)
    reply = strict.post("/workflows", {"name": "build", "project": "shop"})
    assert reply.status_code == 404
    assert "implicit creation" in reply.json()["detail"]
    assert "project create" in reply.json()["hint"]
    assert strict.get("/projects").json()["items"] == []
    strict.post("/projects", {"name": "shop"})
    assert strict.post("/workflows", {"name": "build", "project": "shop"}).status_code == 201


def test_validation_errors_are_problems(app_client: Env) -> None:
    reply = app_client.post("/projects", {"nom": "x"})
    assert reply.status_code == 422
    assert reply.json()["code"] == "invalid_input"
    assert reply.headers["content-type"].startswith("application/problem+json")


def test_body_limit(app_client: Env) -> None:
    big = "x" * (app_client.settings.max_body_bytes + 10)
    reply = app_client.post("/contracts", {"name": "big", "raw": big})
    assert reply.status_code == 413 and reply.json()["code"] == "invalid_input"
