"""CAS backends managed per organisation: roles, sealed credentials, validation, default and
fallback switching, per-backend size limits, the blob → backend mapping, revalidation.

Real stores only: ``fs`` backends in the server's fs root, the docker-registry fixtures (one
of them behind the Docker token flow, user ``ci-robot``/``s3cret-robot``), over SQLite and
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.cas_servers import closed_endpoint
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow
from tests.integration.server.test_push import (
    BLOB,
    BLOB_DIGEST,
    _materials,
    _sign,
    _start,
    _statement,
)

from chainproof.server.db import AuditEvent, CasBackend, CasBlob, Material
from chainproof.server.jobs.cas_validation import revalidate_once
from chainproof.server.services import orgs, tokens

PASSWORD = "s3cret-robot"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _fs(env: Env, name: str, **extra: Any) -> Any:
    body = {"name": name, "provider": "fs", "config": {"path": f"{env.org['name']}/{name}"}}
    return env.post("/cas-backends", {**body, **extra})


def _fs_dir(env: Env, name: str) -> Path:
    return env.settings.fs_backends_path / env.org["name"] / name


def _user_token(env: Env, role: str) -> str:
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, f"{role}-user", role)
        _, secret = tokens.create_user_token(session, org, user, role, f"{role}-token")
    return secret


def _put(env: Env, grant: dict[str, Any], data: bytes, **kw: Any) -> Any:
    return env.client.put(
        f"/cas/v1/blobs/{_digest(data)}",
        headers={"Authorization": f"Bearer {grant['token']}", **kw.pop("headers", {})},
        content=kw.pop("content", data),
        **kw,
    )


def _upload_grant(env: Env) -> tuple[str, dict[str, Any]]:
    run_id = init_run(env).json()["run"]["id"]
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id})
    assert grant.status_code == 200, grant.text
    return run_id, grant.json()


def test_only_owners_and_admins_manage_backends(app_client: Env) -> None:
    setup_workflow(app_client)
    assert _fs(app_client, "store").status_code == 201
    admin = _user_token(app_client, "admin")
    assert app_client.get("/cas-backends", token=admin).status_code == 200
    for token in (
        _user_token(app_client, "member"),
        _user_token(app_client, "viewer"),
        app_client.robot(),
    ):
        for reply in (
            app_client.get("/cas-backends", token=token),
            app_client.get("/cas-backends/store", token=token),
            app_client.post(
                "/cas-backends",
                {"name": "x", "provider": "fs", "config": {"path": "x"}},
                token=token,
            ),
            app_client.patch("/cas-backends/store", {"default": True}, token=token),
            app_client.post("/cas-backends/store/validate", token=token),
            app_client.delete("/cas-backends/store", token=token),
        ):
            assert reply.status_code == 403, reply.text
            assert reply.json()["code"] == "forbidden"
    assert app_client.get("/cas-backends/store").json()["default"] is False
    # another organisation does not see it at all
    assert app_client.new_org().get("/cas-backends/store").status_code == 404


def test_credentials_are_sealed_and_never_returned(
    app_client: Env, token_registry: tuple[str, Any]
) -> None:
    host, _ = token_registry
    body = {
        "name": "registry",
        "provider": "oci",
        "config": {"repository": f"{host}/itest/{app_client.org['name']}", "username": "ci-robot"},
        "secret": {"password": PASSWORD},
    }
    created = app_client.post("/cas-backends", body)
    assert created.status_code == 201, created.text
    got = created.json()
    assert got["status"] == "ok" and got["validated_at"] and got["has_secret"] is True
    assert got["config"] == body["config"] and got["max_blob_size"] == 100_000_000
    for reply in (
        created,
        app_client.get("/cas-backends"),
        app_client.get("/cas-backends/registry"),
        app_client.post("/cas-backends/registry/validate"),
        app_client.patch("/cas-backends/registry", {"max_blob_size": 5000}),
    ):
        assert reply.status_code in (200, 201), reply.text
        assert PASSWORD not in reply.text and "password" not in reply.json().get("config", {})
    with app_client.sessions() as session:
        row = session.scalar(
            select(CasBackend).where(
                CasBackend.org_id == app_client.org["id"], CasBackend.name == "registry"
            )
        )
        assert row is not None and row.secret is not None
        assert PASSWORD.encode() not in row.secret and "password" not in row.config
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.org_id == app_client.org["id"])
        ).all()
    actions = [e.action for e in events]
    assert "cas_backend.create" in actions and "cas_backend.validate" in actions
    assert all(PASSWORD not in repr(e.data) for e in events)


def test_bad_credentials_fail_validation_and_rotation_is_validated(
    app_client: Env, token_registry: tuple[str, Any]
) -> None:
    host, _ = token_registry
    repo = f"{host}/itest/rotate-{app_client.org['name']}"
    body = {
        "name": "registry",
        "provider": "oci",
        "config": {"repository": repo, "username": "ci-robot"},
        "secret": {"password": "wrong-password"},
    }
    refused = app_client.post("/cas-backends", body)
    assert refused.status_code == 400, refused.text
    problem = refused.json()
    assert (
        problem["code"] == "invalid_input" and "'registry' failed validation" in problem["detail"]
    )
    assert "wrong-password" not in refused.text
    assert app_client.get("/cas-backends/registry").status_code == 404  # nothing stored

    stored = app_client.post("/cas-backends", {**body, "skip_validation": True})
    assert stored.status_code == 201 and stored.json()["status"] == "unknown"
    checked = app_client.post("/cas-backends/registry/validate").json()
    assert checked["status"] == "invalid" and checked["status_message"]
    assert "wrong-password" not in checked["status_message"]

    # Rotation: a new secret is probed before it replaces the old one.
    still_wrong = app_client.patch("/cas-backends/registry", {"secret": {"password": "nope"}})
    assert still_wrong.status_code == 400
    with app_client.sessions() as session:
        before = session.scalar(
            select(CasBackend.secret).where(
                CasBackend.org_id == app_client.org["id"], CasBackend.name == "registry"
            )
        )
    rotated = app_client.patch("/cas-backends/registry", {"secret": {"password": PASSWORD}})
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["status"] == "ok" and rotated.json()["status_message"] is None
    with app_client.sessions() as session:
        after = session.scalar(
            select(CasBackend.secret).where(
                CasBackend.org_id == app_client.org["id"], CasBackend.name == "registry"
            )
        )
    assert after != before


def test_unknown_fields_and_bad_paths_are_refused(app_client: Env) -> None:
    cases = [
        ({"provider": "fs", "config": {"path": "a", "bucket": "b"}}, "no config field 'bucket'"),
        ({"provider": "fs", "config": {}}, "needs path"),
        ({"provider": "fs", "config": {"path": "../../etc"}}, "inside the server's fs"),
        ({"provider": "s3", "config": {"bucket": "b"}, "secret": {"password": "x"}}, "password"),
        ({"provider": "oci", "config": {"repository": "r.example/x", "username": "u"}}, "both"),
        ({"provider": "inline", "config": {"path": "x"}}, "no config field 'path'"),
        ({"provider": "inline", "max_blob_size": 3_000_000}, "for an inline backend"),
    ]
    for body, expected in cases:
        reply = app_client.post("/cas-backends", {"name": "bad", **body})
        assert reply.status_code == 400, reply.text
        assert expected in reply.json()["detail"]
    assert app_client.post("/cas-backends", {"name": "bad", "provider": "ftp"}).status_code == 422
    assert _fs(app_client, "embedded").status_code == 400
    assert _fs(app_client, "both", default=True, fallback=True).status_code == 400
    assert _fs(app_client, "dup").status_code == 201
    assert _fs(app_client, "dup").status_code == 409


def test_one_default_and_one_fallback(app_client: Env) -> None:
    assert _fs(app_client, "a", default=True).status_code == 201
    assert _fs(app_client, "b", default=True).status_code == 201
    assert _fs(app_client, "c", fallback=True).status_code == 201

    def roles() -> dict[str, tuple[bool, bool]]:
        items = app_client.get("/cas-backends").json()["items"]
        return {b["name"]: (b["default"], b["fallback"]) for b in items}

    assert roles() == {"a": (False, False), "b": (True, False), "c": (False, True)}
    assert app_client.patch("/cas-backends/c", {"default": True}).status_code == 200
    assert roles() == {"a": (False, False), "b": (False, False), "c": (True, False)}
    assert app_client.patch("/cas-backends/a", {"fallback": True}).status_code == 200
    assert app_client.patch("/cas-backends/b", {"fallback": True}).status_code == 200
    assert roles() == {"a": (False, False), "b": (False, True), "c": (True, False)}
    assert app_client.patch("/cas-backends/c", {"default": False}).status_code == 200
    assert roles() == {"a": (False, False), "b": (False, True), "c": (False, False)}


def test_uploads_follow_the_default_and_fall_back_while_it_is_invalid(app_client: Env) -> None:
    setup_workflow(app_client)
    _, grant = _upload_grant(app_client)
    embedded = {
        "name": "embedded",
        "provider": "fs",
        "max_blob_size": 100_000_000,
        "streams": True,
    }
    assert grant["backend"] == embedded

    assert _fs(app_client, "primary", default=True).status_code == 201
    assert _fs(app_client, "spare", fallback=True).status_code == 201
    _, grant = _upload_grant(app_client)
    assert grant["backend"]["name"] == "primary"
    first = b"goes to the primary store\n"
    assert _put(app_client, grant, first).status_code == 201
    primary_file = _fs_dir(app_client, "primary") / "sha256" / _digest(first)[7:9]
    assert (primary_file / _digest(first)[7:]).read_bytes() == first

    # Break the primary: its directory becomes a file, so the probe cannot write.
    shutil.rmtree(_fs_dir(app_client, "primary"))
    _fs_dir(app_client, "primary").write_text("not a directory")
    checked = app_client.post("/cas-backends/primary/validate").json()
    assert checked["status"] == "invalid" and checked["status_message"]
    _, grant = _upload_grant(app_client)
    assert grant["backend"]["name"] == "spare"
    second = b"goes to the fallback while the primary is invalid\n"
    assert _put(app_client, grant, second).status_code == 201
    spare = _fs_dir(app_client, "spare") / "sha256" / _digest(second)[7:9] / _digest(second)[7:]
    assert spare.read_bytes() == second

    with app_client.sessions() as session:
        rows = {
            b.digest: b
            for b in session.scalars(select(CasBlob).where(CasBlob.org_id == app_client.org["id"]))
        }
        ids = {
            name: backend_id
            for name, backend_id in session.execute(
                select(CasBackend.name, CasBackend.id).where(
                    CasBackend.org_id == app_client.org["id"]
                )
            )
        }
    assert rows[_digest(first)].backend_id == ids["primary"]
    assert rows[_digest(second)].backend_id == ids["spare"]
    assert rows[_digest(second)].backend == "fs"

    # Repaired: the next revalidation makes the primary the upload target again.
    _fs_dir(app_client, "primary").unlink()
    assert app_client.post("/cas-backends/primary/validate").json()["status"] == "ok"
    _, grant = _upload_grant(app_client)
    assert grant["backend"]["name"] == "primary"
    # A blob this org already has is stored once, whichever backend holds it; a new run still
    # proves possession by sending the bytes (docs/cas.md, "Pushes prove possession too").
    auth = {"Authorization": f"Bearer {grant['token']}"}
    assert (
        app_client.client.head(f"/cas/v1/blobs/{_digest(second)}", headers=auth).status_code == 404
    )
    again = _put(app_client, grant, second)
    assert again.status_code in (200, 201), again.text
    assert (
        app_client.client.head(f"/cas/v1/blobs/{_digest(second)}", headers=auth).status_code == 200
    )
    assert not list(_fs_dir(app_client, "primary").rglob("*" + _digest(second)[7:]))


def test_max_blob_size_is_enforced_before_the_upload(app_client: Env) -> None:
    setup_workflow(app_client)
    assert _fs(app_client, "small", default=True, max_blob_size=1000).status_code == 201
    _, grant = _upload_grant(app_client)
    assert grant["backend"] == {
        "name": "small",
        "provider": "fs",
        "max_blob_size": 1000,
        "streams": True,
    }
    big = b"x" * 5000
    reply = _put(app_client, grant, big)
    assert reply.status_code == 413, reply.text
    problem = reply.json()
    assert problem["code"] == "too_large" and problem["status"] == 413
    assert "at most 1000 bytes" in problem["detail"] and "'small'" in problem["detail"]
    assert problem["details"] == {"max_blob_size": 1000, "backend": "small"}
    # Without a Content-Length the stream is cut off once it crosses the limit.
    chunks = [b"y" * 400] * 5
    streamed = _put(app_client, grant, b"".join(chunks), content=iter(chunks))
    assert streamed.status_code == 413 and streamed.json()["code"] == "too_large"
    assert not list(_fs_dir(app_client, "small").rglob("*" + _digest(big)[7:]))
    assert _put(app_client, grant, b"fits\n").status_code == 201
    raised = app_client.patch("/cas-backends/small", {"max_blob_size": 10_000})
    assert raised.status_code == 200
    assert _put(app_client, grant, big).status_code == 201


def test_push_records_the_backend_and_downloads_need_a_readable_run(app_client: Env) -> None:
    assert _fs(app_client, "evidence", default=True).status_code == 201
    init = _start(app_client)
    run_id = init["run"]["id"]
    grant = app_client.post("/cas/tokens", {"direction": "upload", "run_id": run_id}).json()
    assert _put(app_client, grant, BLOB).status_code == 201
    digest = f"sha256:{BLOB_DIGEST}"
    # Uploaded but not referenced by a pushed run: no download token, no hint.
    assert (
        app_client.post("/cas/tokens", {"direction": "download", "digest": digest}).status_code
        == 404
    )
    bundle = _sign(app_client, init, _statement(app_client, init))
    pushed = app_client.post(
        f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()}
    )
    assert pushed.status_code == 200, pushed.text
    (material,) = pushed.json()["materials"]
    assert material["cas_backend"] == "evidence" and material["uploaded"] is True
    with app_client.sessions() as session:
        row = session.scalar(select(Material).where(Material.run_id == run_id))
        backend = session.scalar(
            select(CasBackend).where(
                CasBackend.org_id == app_client.org["id"], CasBackend.name == "evidence"
            )
        )
        assert row is not None and backend is not None and row.cas_backend_id == backend.id

    download = app_client.post("/cas/tokens", {"direction": "download", "digest": digest})
    assert download.status_code == 200 and download.json()["backend"]["name"] == "evidence"
    got = app_client.client.get(
        f"/cas/v1/blobs/{digest}",
        headers={"Authorization": f"Bearer {download.json()['token']}"},
    )
    assert got.status_code == 200 and got.content == BLOB
    # A robot restricted to another project cannot read the run: 404.
    app_client.post("/projects", {"name": "other"})
    scoped = app_client.robot("other-ci", project="other")
    hidden = app_client.post(
        "/cas/tokens", {"direction": "download", "digest": digest}, token=scoped
    )
    assert hidden.status_code == 404
    assert (
        app_client.new_org()
        .post("/cas/tokens", {"direction": "download", "digest": digest})
        .status_code
        == 404
    )
    # The backend holds evidence: it cannot be deleted.
    refused = app_client.delete("/cas-backends/evidence")
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"


def test_delete_and_fall_back_to_the_embedded_store(app_client: Env) -> None:
    setup_workflow(app_client)
    assert _fs(app_client, "gone", default=True).status_code == 201
    _, grant = _upload_grant(app_client)
    assert app_client.delete("/cas-backends/gone").status_code == 204
    assert app_client.get("/cas-backends/gone").status_code == 404
    # A token naming a deleted backend no longer works.
    stale = _put(app_client, grant, b"too late\n")
    assert stale.status_code == 404
    _, grant = _upload_grant(app_client)
    assert grant["backend"]["name"] == "embedded"
    assert _put(app_client, grant, b"embedded again\n").status_code == 201


def test_revalidation_job_records_status(app_client: Env) -> None:
    assert _fs(app_client, "good").status_code == 201
    body = {
        "name": "down",
        "provider": "s3",
        "config": {"bucket": "b", "endpoint": closed_endpoint()},
        "skip_validation": True,
    }
    assert app_client.post("/cas-backends", body).status_code == 201
    factory = app_client.client.app.state.cas_factory  # type: ignore[attr-defined]
    results = revalidate_once(app_client.sessions, factory)
    with app_client.sessions() as session:
        rows = {
            r.name: r
            for r in session.scalars(
                select(CasBackend).where(CasBackend.org_id == app_client.org["id"])
            )
        }
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.org_id == app_client.org["id"],
                AuditEvent.action == "cas_backend.status",
            )
        ).all()
    assert results[rows["good"].id] == "ok" and results[rows["down"].id] == "invalid"
    assert rows["down"].status == "invalid" and rows["down"].validated_at is not None
    assert "S3 backend" in str(rows["down"].status_message)
    assert [e.target for e in events] == ["down"]  # good stayed ok: no status change


@pytest.mark.parametrize("size", [0, -1])
def test_max_blob_size_must_be_positive(app_client: Env, size: int) -> None:
    reply = _fs(app_client, "zero", max_blob_size=size)
    assert reply.status_code == 422


def test_cas_app_rejects_a_token_for_another_orgs_backend(app_client: Env) -> None:
    from chainproof.cas.tokens import mint_token

    other = app_client.new_org()
    assert _fs(other, "theirs").status_code == 201
    theirs = other.get("/cas-backends/theirs").json()["id"]
    secret = app_client.settings.secret_key.get_secret_value()
    token, _ = mint_token(secret, org=app_client.org["id"], direction="upload", backend=theirs)
    put = _put(app_client, {"token": token}, b"not yours\n")
    assert put.status_code == 404


@pytest.fixture
def restricted(settings: Any, app_and_client: Any) -> Iterator[Env]:
    """The same database behind an app whose backends may only reach 127.0.0.1:1 and
    10.0.0.0/8 (CHAINPROOF_CAS_ALLOWED_ENDPOINTS)."""

    from fastapi.testclient import TestClient
    from tests.integration.conftest import new_env

    from chainproof.server.app import create_app

    app = create_app(
        settings.model_copy(update={"cas_allowed_endpoints": "127.0.0.1:1, 10.0.0.0/8"}),
        start_worker=False,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield new_env(client, settings, app.state.sessions)
    app.state.engine.dispose()


def test_endpoint_restrictions_at_add_update_and_validation(restricted: Env, registry: str) -> None:
    oci = {"name": "reg", "provider": "oci", "config": {"repository": f"{registry}/e2e/x"}}
    refused = restricted.post("/cas-backends", oci)
    assert refused.status_code == 403, refused.text
    assert f"endpoint {registry} is not allowed" in refused.json()["detail"]
    assert "CHAINPROOF_CAS_ALLOWED_ENDPOINTS" in refused.json()["hint"]
    metadata = {
        "name": "meta",
        "provider": "s3",
        "config": {"bucket": "b", "endpoint": "http://169.254.169.254:80"},
        "skip_validation": True,
    }
    assert "cloud metadata" in restricted.post("/cas-backends", metadata).json()["detail"]
    allowed = {
        "name": "s3",
        "provider": "s3",
        "config": {"bucket": "b", "endpoint": "http://127.0.0.1:1"},
        "skip_validation": True,
    }
    assert restricted.post("/cas-backends", allowed).status_code == 201
    moved = restricted.patch(
        "/cas-backends/s3",
        {"config": {"endpoint": "http://192.0.2.1:9000"}, "skip_validation": True},
    )
    assert moved.status_code == 403 and "192.0.2.1:9000" in moved.json()["detail"]
    assert restricted.get("/cas-backends").json()["items"][0]["config"]["endpoint"] == (
        "http://127.0.0.1:1"
    )
    # Validation checks the endpoint too (the periodic revalidation as well); an allowed
    # endpoint here is merely unreachable.
    validated = restricted.post("/cas-backends/s3/validate").json()
    assert validated["status"] == "invalid" and "not allowed" not in validated["status_message"]
    # Metadata is refused on the default (unrestricted) server as well.
    assert restricted.new_org().post("/cas-backends", metadata).status_code == 403
