"""Run-less uploads (``artifact upload``): ownership in ``cas_uploads`` and who may download.

The rule (services/cas.py, docs/cas.md): the uploader (same token or same user), owners and
admins, and — for an upload filed under a project — every user of the organisation and the
robots that may read that project's runs. Everybody else, other organisations included,
gets the 404 of a digest nobody stored. SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server.helpers import setup_workflow

from chainproof.server.db import ApiToken, AuditEvent, CasUpload
from chainproof.server.services import orgs, tokens


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _user(env: Env, role: str) -> tuple[str, str]:
    """A new user of the organisation with ``role``: (user id, token secret)."""
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, f"{role}-{secrets.token_hex(3)}", role)
        _, secret = tokens.create_user_token(session, org, user, role, f"{role}-token")
        return user.id, secret


def _second_token(env: Env, user_id: str, role: str) -> str:
    from chainproof.server.db import User

    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = session.get(User, user_id)
        assert user is not None
        _, secret = tokens.create_user_token(session, org, user, role, "laptop")
        return secret


def _upload(
    env: Env, data: bytes, token: str | None = None, project: str | None = None, **kw: Any
) -> Any:
    body: dict[str, Any] = {"direction": "upload"}
    if project:
        body["project"] = project
    grant = env.post("/cas/tokens", body, token=token)
    assert grant.status_code == 200, grant.text
    return env.client.put(
        f"/cas/v1/blobs/{_digest(data)}",
        headers={"Authorization": f"Bearer {grant.json()['token']}"},
        content=kw.get("content", data),
    )


def _download(env: Env, digest: str, token: str | None = None) -> Any:
    """The bytes a caller gets for ``digest``, or the token reply when it is refused."""
    grant = env.post("/cas/tokens", {"direction": "download", "digest": digest}, token=token)
    if grant.status_code != 200:
        return grant
    got = env.client.get(
        f"/cas/v1/blobs/{digest}", headers={"Authorization": f"Bearer {grant.json()['token']}"}
    )
    assert got.status_code == 200, got.text
    return got.content


def _hidden(env: Env, digest: str, token: str | None = None) -> None:
    """Refused exactly like a digest that was never stored."""
    never = _digest(secrets.token_bytes(16))
    for asked, reply in (
        (digest, _download(env, digest, token)),
        (never, _download(env, never, token)),
    ):
        assert reply.status_code == 404, reply
        assert reply.json()["code"] == "not_found"
        assert reply.json()["detail"] == f"blob {asked} not found"


def test_private_upload_readable_by_uploader_and_admins_only(app_client: Env) -> None:
    member_id, member = _user(app_client, "member")
    data = b"a private run-less upload\n"
    digest = _digest(data)
    put = _upload(app_client, data, token=member)
    assert put.status_code == 201, put.text
    with app_client.sessions() as session:
        row = session.scalar(select(CasUpload).where(CasUpload.digest == digest))
        token_id = session.scalar(
            select(ApiToken.id).where(
                ApiToken.user_id == member_id, ApiToken.org_id == app_client.org["id"]
            )
        )
        assert row is not None and row.org_id == app_client.org["id"]
        assert row.token_id == token_id and row.user_id == member_id
        assert row.project_id is None and row.size == len(data) and row.backend_id is None
        assert row.created_at is not None
        assert session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "cas.runless_upload", AuditEvent.target == digest
            )
        )
    # The uploader, through the token it used or another token of the same user.
    assert _download(app_client, digest, member) == data
    assert _download(app_client, digest, _second_token(app_client, member_id, "member")) == data
    # Owners and admins administer the organisation's storage.
    assert _download(app_client, digest) == data
    assert _download(app_client, digest, _user(app_client, "admin")[1]) == data
    # Other members and viewers, robots, and other organisations: 404, no hint.
    _hidden(app_client, digest, _user(app_client, "member")[1])
    _hidden(app_client, digest, _user(app_client, "viewer")[1])
    setup_workflow(app_client)
    _hidden(app_client, digest, app_client.robot("ci"))
    other = app_client.new_org()
    _hidden(other, digest)


def test_project_upload_readable_by_the_projects_readers(app_client: Env) -> None:
    setup_workflow(app_client, project="shop")
    assert app_client.post("/projects", {"name": "other"}).status_code == 201
    data = b"release notes filed under shop\n"
    digest = _digest(data)
    assert _upload(app_client, data, project="shop").status_code == 201
    with app_client.sessions() as session:
        row = session.scalar(select(CasUpload).where(CasUpload.digest == digest))
        assert row is not None and row.project_id is not None
    assert _download(app_client, digest, _user(app_client, "member")[1]) == data
    assert _download(app_client, digest, _user(app_client, "viewer")[1]) == data
    assert _download(app_client, digest, app_client.robot("any")) == data
    assert _download(app_client, digest, app_client.robot("shop-ci", project="shop")) == data
    _hidden(app_client, digest, app_client.robot("other-ci", project="other"))
    # A robot restricted to one workflow reads that workflow's runs only.
    _hidden(app_client, digest, app_client.robot("wf-ci", project="shop", workflow="build"))
    _hidden(app_client.new_org(), digest)


def test_ownership_needs_the_bytes_not_just_the_digest(app_client: Env) -> None:
    data = b"the admin's private artefact\n"
    digest = _digest(data)
    assert _upload(app_client, data).status_code == 201
    member_id, member = _user(app_client, "member")
    _hidden(app_client, digest, member)
    # Knowing the digest is not enough: HEAD says absent, so the bytes must be sent...
    grant = app_client.post("/cas/tokens", {"direction": "upload"}, token=member).json()
    head = app_client.client.head(
        f"/cas/v1/blobs/{digest}", headers={"Authorization": f"Bearer {grant['token']}"}
    )
    assert head.status_code == 404
    # ...and they are hashed: wrong bytes record nothing.
    wrong = _upload(app_client, data, token=member, content=b"not the same bytes")
    assert wrong.status_code == 422 and wrong.json()["code"] == "verification_failed"
    _hidden(app_client, digest, member)
    # The right bytes: stored once already (200, not 201), now the member owns a copy too.
    again = _upload(app_client, data, token=member)
    assert again.status_code == 200 and again.json()["size"] == len(data)
    assert _download(app_client, digest, member) == data
    with app_client.sessions() as session:
        owners = session.scalars(select(CasUpload.user_id).where(CasUpload.digest == digest))
        assert member_id in set(owners)
    # The uploader's own re-upload is recognised (HEAD 200): nothing to send.
    head = app_client.client.head(
        f"/cas/v1/blobs/{digest}", headers={"Authorization": f"Bearer {grant['token']}"}
    )
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))


def test_cross_organisation_uploads_stay_apart(app_client: Env) -> None:
    data = b"the same bytes in two organisations\n"
    digest = _digest(data)
    other = app_client.new_org()
    assert _upload(other, data).status_code == 201
    # Org A never uploaded it: nothing to download, and its upload is a fresh one (201).
    _hidden(app_client, digest)
    assert _upload(app_client, data).status_code == 201
    assert _download(app_client, digest) == data
    assert _download(other, digest) == data
    with app_client.sessions() as session:
        orgs_holding = set(
            session.scalars(select(CasUpload.org_id).where(CasUpload.digest == digest))
        )
    assert orgs_holding == {app_client.org["id"], other.org["id"]}
