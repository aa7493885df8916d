"""CAS tokens and blob transfer: upload, HEAD, download, wrong digests, read scoping."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _upload_grant(env: Env, token: str | None = None) -> tuple[str, dict[str, Any]]:
    setup_workflow(env)
    run_id = init_run(env, token).json()["run"]["id"]
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id}, token=token)
    assert grant.status_code == 200, grant.text
    return run_id, grant.json()


def _cas(env: Env, method: str, digest: str, token: str, **kw: Any) -> Any:
    return env.client.request(
        method, f"/cas/v1/blobs/{digest}", headers={"Authorization": f"Bearer {token}"}, **kw
    )


def test_upload_head_and_rehead(app_client: Env) -> None:
    _, grant = _upload_grant(app_client)
    assert grant["url"] == "http://testserver/cas/v1" and grant["expires_at"].endswith("Z")
    data = b"evidence bytes\n" * 1000
    digest = _digest(data)
    assert _cas(app_client, "HEAD", digest, grant["token"]).status_code == 404
    put = _cas(app_client, "PUT", digest, grant["token"], content=data)
    assert put.status_code == 201, put.text
    head = _cas(app_client, "HEAD", digest, grant["token"])
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    again = _cas(app_client, "PUT", digest, grant["token"], content=data)
    assert again.status_code == 200


def test_wrong_digest_rejected_and_nothing_visible(app_client: Env) -> None:
    _, grant = _upload_grant(app_client)
    claimed = _digest(b"what I claim")
    reply = _cas(app_client, "PUT", claimed, grant["token"], content=b"something else")
    assert reply.status_code == 422 and reply.json()["code"] == "verification_failed"
    assert _cas(app_client, "HEAD", claimed, grant["token"]).status_code == 404


def test_streamed_upload(app_client: Env) -> None:
    _, grant = _upload_grant(app_client)
    chunks = [bytes([i]) * 65536 for i in range(20)]
    digest = _digest(b"".join(chunks))
    reply = _cas(app_client, "PUT", digest, grant["token"], content=iter(chunks))
    assert reply.status_code == 201 and reply.json()["size"] == 20 * 65536


def test_bad_tokens(app_client: Env) -> None:
    digest = _digest(b"x")
    assert _cas(app_client, "HEAD", digest, "not-a-jwt").status_code == 401
    assert app_client.client.head(f"/cas/v1/blobs/{digest}").status_code == 401
    # the API token is not a CAS token
    assert _cas(app_client, "GET", digest, app_client.token).status_code == 401
    _, grant = _upload_grant(app_client)
    assert _cas(app_client, "GET", digest, grant["token"]).status_code == 403


def test_download_needs_a_readable_run(app_client: Env) -> None:
    _, grant = _upload_grant(app_client)
    data = b"uploaded but not referenced by any pushed run"
    digest = _digest(data)
    _cas(app_client, "PUT", digest, grant["token"], content=data)
    denied = app_client.post("/cas/tokens", {"direction": "download", "digest": digest})
    assert denied.status_code == 404 and denied.json()["code"] == "not_found"


def test_upload_grant_refused_for_finished_or_foreign_runs(app_client: Env) -> None:
    run_id, _ = _upload_grant(app_client)
    other = app_client.new_org()
    reply = other.post("/cas/tokens", {"direction": "upload", "run_id": run_id})
    assert reply.status_code == 404
    app_client.post(f"/runs/{run_id}/reset", {"trigger": "failure"})
    reply = app_client.post("/cas/tokens", {"direction": "upload", "run_id": run_id})
    assert reply.status_code == 409


def _member_token(env: Env, role: str) -> str:
    from chainproof.server.services import orgs, tokens

    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, f"{role}-user", role)
        _, secret = tokens.create_user_token(session, org, user, role, f"{role}-token")
    return secret


def test_runless_upload_grant_for_users(app_client: Env) -> None:
    """`artifact upload` without a run: owner/admin/member users, never robots or viewers."""
    grant = app_client.post("/cas/tokens", {"direction": "upload"})
    assert grant.status_code == 200, grant.text
    data = b"a release tarball uploaded outside any run"
    digest = _digest(data)
    put = _cas(app_client, "PUT", digest, grant.json()["token"], content=data)
    assert put.status_code == 201, put.text
    # The uploader sees its own upload; another member must send the bytes (test_cas_runless).
    head = _cas(app_client, "HEAD", digest, grant.json()["token"])
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    member = _member_token(app_client, "member")
    again = app_client.post("/cas/tokens", {"direction": "upload"}, token=member).json()
    assert _cas(app_client, "HEAD", digest, again["token"]).status_code == 404
    # The uploader (here the owner) may download it without a run referencing it.
    assert (
        app_client.post("/cas/tokens", {"direction": "download", "digest": digest}).status_code
        == 200
    )
    other = app_client.new_org().post("/cas/tokens", {"direction": "upload"}).json()
    assert _cas(app_client, "HEAD", digest, other["token"]).status_code == 404


def test_runless_upload_grant_refusals(app_client: Env) -> None:
    setup_workflow(app_client)
    robot = app_client.robot("ci")
    refused = app_client.post("/cas/tokens", {"direction": "upload"}, token=robot)
    assert refused.status_code == 403 and "for a run" in refused.json()["detail"]
    viewer = _member_token(app_client, "viewer")
    assert app_client.post("/cas/tokens", {"direction": "upload"}, token=viewer).status_code == 403
    missing = app_client.post("/cas/tokens", {"direction": "upload", "project": "nope"})
    assert missing.status_code == 404
    run_id = init_run(app_client).json()["run"]["id"]
    both = app_client.post(
        "/cas/tokens", {"direction": "upload", "run_id": run_id, "project": "nope"}
    )
    assert both.status_code == 400


def test_runless_upload_grant_filed_under_a_project(app_client: Env) -> None:
    from sqlalchemy import select

    from chainproof.server.db import AuditEvent, Project

    assert app_client.post("/projects", {"name": "shop"}).status_code == 201
    grant = app_client.post("/cas/tokens", {"direction": "upload", "project": "shop"})
    assert grant.status_code == 200, grant.text
    with app_client.sessions() as session:
        project = session.scalar(
            select(Project).where(Project.org_id == app_client.org["id"], Project.name == "shop")
        )
        assert project is not None
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "cas.grant", AuditEvent.target == project.id
            )
        )
    assert event is not None and event.data["run"] is False
