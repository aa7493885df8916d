"""Project roles (issue 17, docs/identity.md "Project roles"): a member or viewer of the
organisation who holds a role in some projects sees only those projects, everywhere; a
project admin administers that project and not the organisation; owners and admins grant and
remove the roles. SQLite and PostgreSQL (the route-by-route table is test_authz_matrix.py)."""

from __future__ import annotations

import secrets
import threading
from typing import Any

from sqlalchemy import func, select
from tests.integration.conftest import Env
from tests.integration.server.discover_steps import cdx, image_digest, index, push
from tests.integration.server.discover_steps import setup as setup_shop
from tests.integration.server.helpers import init_run, setup_workflow

from chainproof.server.db import ProjectMembership
from chainproof.server.db.base import utcnow
from chainproof.server.services import orgs, signin, tokens

LOG4J = ("maven/org.apache.logging.log4j/log4j-core", "log4j-core", "2.14.1", "Apache-2.0")


def _person(env: Env, role: str) -> tuple[str, str, str]:
    """A member with ``role``: their email, an API token and a sign-in session."""
    email = f"{role}-{secrets.token_hex(3)}@example.com"
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, email.split("@")[0], role)
        user.email = email
        _, token = tokens.create_user_token(session, org, user, role, "laptop")
        _, cps = signin.open_session(session, user, "https://idp.test", 3600, utcnow())
    return email, token, cps


def _grant(env: Env, project: str, email: str, role: str) -> Any:
    reply = env.put(f"/projects/{project}/members/{email}", {"role": role})
    assert reply.status_code == 200, reply.text
    return reply.json()


def _names(env: Env, path: str, token: str, key: str = "name", **params: Any) -> list[str]:
    reply = env.get(path, token=token, params=params)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    items = body["items"] if isinstance(body, dict) else body
    return sorted(str(item[key]) for item in items)


def _world(env: Env) -> dict[str, str]:
    """Projects p (workflow build) and q (workflow other), a run in each, and an unmanaged
    finding in each (a workflow made implicitly with the empty contract, by a run of its own:
    ``<project>-adhoc``); the ids of the runs by name."""
    setup_workflow(env)
    setup_workflow(env, project="q", workflow="other")
    runs = {}
    for project, wf in (("p", "build"), ("q", "other"), ("p", "p-adhoc"), ("q", "q-adhoc")):
        reply = init_run(env, project=project, workflow=wf)
        assert reply.status_code == 201, reply.text
        runs[wf] = reply.json()["run"]["id"]
    runs["p"], runs["q"] = runs["build"], runs["other"]
    return runs


def test_a_member_holding_project_roles_sees_only_those_projects(app_client: Env) -> None:
    env = app_client
    runs = _world(env)
    email, token, cps = _person(env, "member")
    assert _names(env, "/projects", token) == ["p", "q"]  # no project role: every project
    assert env.get("/whoami", token=token).json()["token"]["project_roles"] is None
    _grant(env, "q", email, "viewer")
    assert env.get("/whoami", token=token).json()["token"]["project_roles"] == {"q": "viewer"}

    for credential in (token, cps):
        headers = {"Authorization": f"Bearer {credential}"}
        if credential == cps:
            headers[signin.ORG_HEADER] = env.org["name"]

        def get(path: str, headers: dict[str, str] = headers, **params: Any) -> Any:
            return env.client.get(f"/api/v1{path}", headers=headers, params=params)

        def names(path: str, key: str = "name", get: Any = get) -> list[str]:
            reply = get(path)
            assert reply.status_code == 200, reply.text
            body = reply.json()
            items = body["items"] if isinstance(body, dict) else body
            return sorted(str(item[key]) for item in items)

        assert names("/projects") == ["q"]
        assert names("/workflows") == ["other", "q-adhoc"]
        assert names("/runs", key="id") == sorted([runs["other"], runs["q-adhoc"]])
        assert names("/contracts") == ["q-c", "q-q-adhoc"]
        assert names("/findings", key="project") == ["q"]
        overview = get("/overview").json()
        assert [p["name"] for p in overview["projects"]] == ["q"]
        assert (overview["totals"]["projects"], overview["totals"]["open_findings"]) == (1, 1)
        for hidden in (
            f"/runs/{runs['p']}",
            "/projects/p",
            "/projects/p/versions",
            "/workflows/p/build",
            "/contracts/p-c",
            "/contracts/p-c/rollout",
        ):
            reply = get(hidden)
            assert reply.status_code == 404, (hidden, reply.text)

    # A member attests in q (their organisation role), nowhere else, and creates no project.
    assert init_run(env, token=token, project="q", workflow="other").status_code == 201
    assert init_run(env, token=token, project="p", workflow="build").status_code == 404
    assert init_run(env, token=token, project="new", workflow="build").status_code == 404
    assert env.get("/org/members", token=token).status_code == 200  # the organisation's

    reply = env.delete(f"/projects/q/members/{email}")
    assert reply.status_code == 204, reply.text
    assert _names(env, "/projects", token) == ["p", "q"]  # takes effect at once


def test_a_project_admin_administers_that_project_and_not_the_organisation(
    app_client: Env,
) -> None:
    env = app_client
    runs = _world(env)
    email, token, _ = _person(env, "viewer")
    assert env.post("/workflows", {"name": "w2", "project": "p"}, token=token).status_code == 403
    _grant(env, "p", email, "admin")

    made = env.post("/workflows", {"name": "w2", "project": "p"}, token=token)
    assert made.status_code == 201, made.text
    assert env.post("/workflows", {"name": "w3", "project": "q"}, token=token).status_code == 404
    assert env.post("/workflows", {"name": "w", "project": "z"}, token=token).status_code == 403
    patched = env.patch("/workflows/p/w2", {"team": "payments"}, token=token)
    assert patched.status_code == 200 and patched.json()["team"] == "payments"
    for path, body in (
        ("/workflows/p/w2/block", {"reason": "audit"}),
        ("/workflows/p/w2/unblock", {}),
        ("/workflows/p/w2/rename", {"to": "w4"}),
        ("/workflows/p/w4/archive", {}),
        ("/workflows/p/w4/unarchive", {}),
        ("/projects/p/block", {"reason": "freeze"}),
        ("/projects/p/unblock", {}),
    ):
        reply = env.post(path, body, token=token)
        assert reply.status_code == 200, (path, reply.text)
    assert (
        env.put("/workflows/p/w4/cadence", {"cadence_seconds": 86400}, token=token).status_code
        == 200
    )
    assert env.delete("/workflows/p/w4", token=token).status_code == 204
    assert env.post("/projects/q/block", {"reason": "x"}, token=token).status_code == 404

    # A viewer of the organisation, yet an attestor in the project it administers.
    versioned = init_run(env, token=token, project="p", workflow="build", project_version="1.0")
    assert versioned.status_code == 201, versioned.text
    released = env.post("/projects/p/versions/1.0/release", {}, token=token)
    assert released.status_code == 200, released.text
    reset = env.post(f"/runs/{runs['p']}/reset", {"trigger": "failure"}, token=token)
    assert reset.status_code == 200, reset.text
    finding = env.get("/findings", token=token).json()["items"][0]
    acked = env.post(f"/findings/{finding['id']}/acknowledge", {"reason": "ok"}, token=token)
    assert acked.status_code == 200, acked.text

    # Not the organisation's.
    for path, body in (
        ("/projects", {"name": "mine"}),
        ("/projects/p/rename", {"to": "p2"}),
        ("/contracts", {"name": "c", "raw": "schemaVersion: v1\n"}),
        ("/tokens", {"name": "robot", "project": "p"}),
    ):
        reply = env.post(path, body, token=token)
        assert reply.status_code == 403, (path, reply.text)
    grant = env.put(f"/projects/p/members/{email}", {"role": "viewer"}, token=token)
    assert grant.status_code == 403, grant.text
    assert env.get("/audit", token=token).status_code == 403


def test_owners_and_admins_grant_change_list_and_remove_project_roles(app_client: Env) -> None:
    env = app_client
    _world(env)
    email, token, _ = _person(env, "member")
    other, _, _ = _person(env, "viewer")

    first = _grant(env, "p", email, "viewer")
    assert (first["email"], first["role"]) == (email, "viewer")
    assert _grant(env, "p", email, "viewer") == first  # idempotent
    assert _grant(env, "p", email, "admin")["role"] == "admin"
    _grant(env, "p", other, "viewer")
    listed = env.get("/projects/p/members", token=token).json()
    assert sorted((m["email"], m["role"]) for m in listed) == [(email, "admin"), (other, "viewer")]
    actions = [e["action"] for e in env.get("/audit").json()["items"]]
    assert actions.count("project.member.set") == 3

    unknown = env.put("/projects/p/members/nobody@example.com", {"role": "viewer"})
    assert unknown.status_code == 404, unknown.text
    bad = env.put(f"/projects/p/members/{email}", {"role": "owner"})
    assert bad.status_code == 422, bad.text
    assert env.get("/projects/q/members", token=token).status_code == 404  # not theirs

    assert env.delete(f"/projects/p/members/{other}").status_code == 204
    again = env.delete(f"/projects/p/members/{other}")
    assert again.status_code == 404 and "holds no role" in again.json()["detail"]

    # Leaving the organisation takes the project roles with it.
    assert env.delete(f"/org/members/{email}").status_code == 204
    with env.sessions.begin() as session:
        held = select(func.count()).where(ProjectMembership.org_id == env.org["id"])
        assert session.scalar(held) == 0


def test_discover_and_component_search_show_only_the_persons_projects(app_client: Env) -> None:
    env = app_client
    setup_shop(env, project="shop")
    setup_shop(env, project="store")
    shop_image, store_image = image_digest("shop"), image_digest("store")
    shop_run = push(env, cdx(LOG4J), shop_image, project="shop")
    store_run = push(env, cdx(LOG4J), store_image, project="store")
    index(env)
    email, token, _ = _person(env, "viewer")
    _grant(env, "store", email, "viewer")

    assert env.get(f"/discover/{shop_image}", token=token).status_code == 404
    found = env.get(f"/discover/{store_image}", token=token)
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["runs"]] == [store_run]
    purl = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"

    def runs_of(credential: str) -> list[str]:
        reply = env.get("/components", token=credential, params={"purl": purl})
        assert reply.status_code == 200, reply.text
        return sorted(item["run"]["id"] for item in reply.json()["items"])

    assert runs_of(env.token) == sorted([shop_run, store_run])
    assert runs_of(token) == [store_run]


def test_concurrent_grants_of_one_role_both_succeed_on_one_row(app_client: Env) -> None:
    env = app_client
    _world(env)
    email, _, _ = _person(env, "member")
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def grant() -> None:
        barrier.wait(timeout=10)
        answers.append(env.put(f"/projects/p/members/{email}", {"role": "viewer"}).status_code)

    threads = [threading.Thread(target=grant) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [200, 200]
    with env.sessions.begin() as session:
        held = select(func.count()).where(ProjectMembership.org_id == env.org["id"])
        assert session.scalar(held) == 1
