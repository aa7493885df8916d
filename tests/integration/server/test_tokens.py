"""API tokens: who may do what, and when a token stops working."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow

from chainproof.server.db import ApiToken, AuditEvent
from chainproof.server.db.base import utcnow
from chainproof.server.jobs.expiry import revoke_unused_once


def test_whoami_and_missing_or_unknown_token(app_client: Env) -> None:
    me = app_client.get("/whoami").json()
    assert me["org"] == app_client.org
    assert me["token"]["kind"] == "user" and me["token"]["role"] == "owner"
    assert app_client.client.get("/api/v1/whoami").status_code == 401
    reply = app_client.get("/whoami", token="cp_" + "x" * 43)
    assert reply.status_code == 401
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["code"] == "unauthorized"


def test_token_secret_shown_once_and_stored_hashed(app_client: Env) -> None:
    created = app_client.post("/tokens", {"name": "ci"}).json()
    assert created["token"].startswith("cp_") and len(created["token"]) == 46
    listed = app_client.get("/tokens").json()["items"]
    assert all("token" not in t or t["token"] is None for t in listed)
    assert {t["name"] for t in listed} >= {"ci"}


def test_robot_scope(app_client: Env) -> None:
    setup_workflow(app_client, "p")
    setup_workflow(app_client, "q")
    robot = app_client.robot("p-ci", project="p", workflow="build")
    assert init_run(app_client, robot, "p").status_code == 201
    outside = init_run(app_client, robot, "q")
    assert outside.status_code == 403 and outside.json()["code"] == "forbidden"
    # robots only attest and read their runs
    assert app_client.get("/projects", token=robot).status_code == 403
    assert app_client.post("/projects", {"name": "x"}, token=robot).status_code == 403
    runs = app_client.get("/runs", token=robot).json()["items"]
    assert {r["project"] for r in runs} == {"p"}


def test_expired_and_revoked_tokens(app_client: Env) -> None:
    short = app_client.post("/tokens", {"name": "short", "expires_in_seconds": 1}).json()
    robot = app_client.post("/tokens", {"name": "robot"}).json()
    assert app_client.get("/whoami", token=short["token"]).status_code == 200
    time.sleep(1.2)
    assert app_client.get("/whoami", token=short["token"]).status_code == 401
    assert app_client.delete(f"/tokens/{robot['id']}").status_code == 204
    reply = app_client.get("/whoami", token=robot["token"])
    assert reply.status_code == 401 and "revoked" in reply.json()["detail"]


def test_other_org_sees_nothing(app_client: Env) -> None:
    setup_workflow(app_client, "p")
    run = init_run(app_client).json()["run"]
    other = app_client.new_org()
    assert other.get("/workflows/p/build").status_code == 404
    assert other.get(f"/runs/{run['id']}").status_code == 404
    assert other.get("/runs").json()["items"] == []
    tokens = app_client.get("/tokens").json()["items"]
    assert other.delete(f"/tokens/{tokens[0]['id']}").status_code == 404


def test_tokens_unused_for_longer_than_the_organisation_allows_are_revoked(
    app_client: Env,
) -> None:
    env, other = app_client, app_client.new_org()
    idle = env.post("/tokens", {"name": "idle"}).json()
    busy = env.post("/tokens", {"name": "busy"}).json()
    elsewhere = other.post("/tokens", {"name": "idle"}).json()  # its org keeps unused tokens
    too_soon = env.patch("/org", {"revoke_unused_tokens_seconds": 3600})
    assert too_soon.status_code == 400 and "a day" in too_soon.json()["detail"]
    reply = env.patch("/org", {"revoke_unused_tokens_seconds": 30 * 86400})
    assert reply.json()["revoke_unused_tokens_seconds"] == 30 * 86400
    long_ago = utcnow() - timedelta(days=40)
    with env.sessions.begin() as session:  # everything but `busy` was made, or used, long ago
        orgs = (env.org["id"], other.org["id"])
        for row in session.scalars(select(ApiToken).where(ApiToken.org_id.in_(orgs))):
            if row.id != busy["id"]:
                row.created_at, row.last_used_at = long_ago, None
    assert env.get("/whoami", token=busy["token"]).status_code == 200

    assert revoke_unused_once(env.sessions) == 1
    assert env.get("/whoami", token=idle["token"]).status_code == 401
    assert env.get("/whoami", token=busy["token"]).status_code == 200
    assert env.get("/whoami").status_code == 200  # the owner's token is never revoked so
    assert other.get("/whoami", token=elsewhere["token"]).status_code == 200
    with env.sessions() as session:
        reasons = session.scalars(
            select(AuditEvent.data).where(
                AuditEvent.action == "token.revoke", AuditEvent.target == idle["id"]
            )
        ).all()
    assert reasons == [{"reason": "unused"}]
    assert revoke_unused_once(env.sessions) == 0  # nothing twice
