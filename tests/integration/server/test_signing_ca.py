"""The organisation's signing CA: key sealed at rest, clear rows from older installs sealed,
rotation (API, audit, trusted root windows), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from tests.integration.conftest import Env
from tests.integration.server.test_push import _materials, _sign, _start, _statement, _upload

from chainproof.client.verify import verify_bundle
from chainproof.errors import ServiceError, VerificationError
from chainproof.server.app import create_app
from chainproof.server.db import AuditEvent, SigningCA
from chainproof.server.db.session import make_sessionmaker
from chainproof.server.services import signing
from chainproof.signing.ca import LEAF_VALIDITY
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.trust import TrustedRoot


def _rows(env: Env) -> list[SigningCA]:
    with env.sessions() as session:
        stmt = (
            select(SigningCA)
            .where(SigningCA.org_id == env.org["id"])
            .order_by(SigningCA.created_at)
        )
        return list(session.scalars(stmt))


def _with_secret(env: Env, secret: str) -> sessionmaker[Session]:
    return make_sessionmaker(env.sessions.kw["bind"], secret_key=secret)


def test_stored_ca_key_is_sealed_and_opens(app_client: Env) -> None:
    (row,) = _rows(app_client)
    assert row.key_pem.startswith("sealed:v1:")
    assert "PRIVATE KEY" not in row.key_pem and "-----BEGIN" not in row.key_pem
    with app_client.sessions() as session:
        ca = signing.org_ca(session, app_client.org["id"])
    assert ca.cert_pem.decode() == row.cert_pem
    # the sealed value is bound to its row: copied to another row, it does not open
    other = app_client.new_org()
    with app_client.sessions.begin() as session:
        session.execute(
            update(SigningCA)
            .where(SigningCA.org_id == other.org["id"])
            .values(key_pem=row.key_pem, cert_pem=row.cert_pem)
        )
    with app_client.sessions() as session, pytest.raises(ServiceError, match="decrypted"):
        signing.org_ca(session, other.org["id"])


def test_wrong_server_secret_is_a_clear_error(app_client: Env) -> None:
    with _with_secret(app_client, secrets.token_urlsafe(32))() as session:
        with pytest.raises(ServiceError) as caught:
            signing.org_ca(session, app_client.org["id"])
    assert "cannot be decrypted with this server's secret key" in str(caught.value)
    assert "secret.key" in (caught.value.hint or "")
    with make_sessionmaker(app_client.sessions.kw["bind"])() as session:
        with pytest.raises(ServiceError, match="secret key is not available"):
            signing.org_ca(session, app_client.org["id"])


def test_a_server_with_another_secret_refuses_to_issue(app_client: Env) -> None:
    wrong = create_app(
        app_client.settings.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(32))}),
        start_worker=False,
    )
    init = _start(app_client)
    try:
        client = TestClient(wrong, raise_server_exceptions=False)
        env = Env(
            client, app_client.org, app_client.token, app_client.settings, app_client.sessions
        )
        reply = env.post(
            "/signing/certificates",
            {"run_id": init["run"]["id"], "csr": EphemeralSigner().csr("x://y").decode()},
        )
    finally:
        wrong.state.engine.dispose()
    assert reply.status_code == 502
    assert "cannot be decrypted with this server's secret key" in reply.json()["detail"]


def _make_clear(env: Env) -> tuple[str, bytes]:
    """Turn the org's CA row back into what an install from before sealing stored."""
    with env.sessions() as session:
        ca = signing.org_ca(session, env.org["id"])
    (row,) = _rows(env)
    with env.sessions.begin() as session:
        session.execute(
            update(SigningCA).where(SigningCA.id == row.id).values(key_pem=ca.key_pem.decode())
        )
    assert _rows(env)[0].key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    return row.id, ca.key_pem


def test_clear_rows_are_sealed_at_startup(app_client: Env) -> None:
    row_id, clear = _make_clear(app_client)
    app = create_app(app_client.settings, start_worker=False)  # the startup step
    app.state.engine.dispose()
    (row,) = _rows(app_client)
    assert row.id == row_id and row.key_pem.startswith("sealed:v1:")
    with app_client.sessions() as session:
        # no data loss: the same key, now sealed
        assert signing.org_ca(session, app_client.org["id"]).key_pem == clear


def test_clear_rows_are_sealed_on_first_use(app_client: Env) -> None:
    _, clear = _make_clear(app_client)
    with app_client.sessions.begin() as session:
        assert signing.org_ca(session, app_client.org["id"]).key_pem == clear
    assert _rows(app_client)[0].key_pem.startswith("sealed:v1:")
    with app_client.sessions() as session:
        assert signing.org_ca(session, app_client.org["id"]).key_pem == clear


def _push(env: Env, *, first: bool) -> dict[str, Any]:
    init = _start(env) if first else _second_run(env)
    run_id = init["run"]["id"]
    _upload(env, run_id)
    bundle = _sign(env, init, _statement(env, init))
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()})
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["bundle"])  # as stored: with its log entry and timestamp


def _second_run(env: Env) -> dict[str, Any]:
    from tests.integration.server.helpers import init_run

    reply = init_run(env)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _leaf(bundle: dict[str, Any]) -> x509.Certificate:
    der = base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    return x509.load_der_x509_certificate(der)


def test_rotation(app_client: Env) -> None:
    before = _push(app_client, first=True)
    (old,) = _rows(app_client)
    old_cert = x509.load_pem_x509_certificate(old.cert_pem.encode())
    _leaf(before).verify_directly_issued_by(old_cert)

    member = app_client.robot("ci")
    assert app_client.post("/signing/ca/rotate", {}, token=member).status_code == 403
    reply = app_client.post("/signing/ca/rotate", {})
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert created["status"] == "issuing" and created["trusted_until"] is None
    first, second = _rows(app_client)
    assert (first.id, second.id) == (old.id, created["id"])
    assert second.key_pem.startswith("sealed:v1:")

    listed = app_client.get("/signing/ca").json()
    assert [c["id"] for c in listed] == [second.id, first.id]
    assert [c["status"] for c in listed] == ["issuing", "rotated"]
    assert listed[1]["trusted_until"] is not None

    with app_client.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.org_id == app_client.org["id"], AuditEvent.action == "signing_ca.rotate"
            )
        ).all()
    assert len(events) == 1 and events[0].target == second.id

    # the trusted root keeps the old CA, its window ending one leaf lifetime after rotation
    root_json = app_client.get("/trust/root").json()
    old_entry, new_entry = root_json["certificateAuthorities"]
    assert "end" in old_entry["validFor"] and "end" not in new_entry["validFor"]
    root = TrustedRoot.from_json(root_json)
    old_ca, new_ca = root.certificate_authorities
    assert old_ca.chain[0] == x509.load_pem_x509_certificate(first.cert_pem.encode())
    end = (second.created_at + LEAF_VALIDITY).replace(microsecond=0)
    assert old_ca.validity.end == end

    # certificates issued from now on chain to the new CA
    after = _push(app_client, first=False)
    new_cert = x509.load_pem_x509_certificate(second.cert_pem.encode())
    _leaf(after).verify_directly_issued_by(new_cert)
    with pytest.raises(InvalidSignature):
        _leaf(after).verify_directly_issued_by(old_cert)
    with app_client.sessions() as session:
        assert signing.org_ca(session, app_client.org["id"]).certificate == new_cert

    # a bundle signed before the rotation still verifies against the new root, and so does
    # one signed after; a root without the old CA refuses the old bundle
    for bundle in (before, after):
        report = verify_bundle(json.dumps(bundle), trusted_root=root)
        assert report["verified"] is True
    only_new = TrustedRoot(
        certificate_authorities=[new_ca],
        tlogs=root.tlogs,
        ctlogs=root.ctlogs,
        timestamp_authorities=root.timestamp_authorities,
    )
    with pytest.raises(VerificationError, match="certificate"):
        verify_bundle(json.dumps(before), trusted_root=only_new)


def test_rotated_ca_window_in_trust_root_matches_successor(app_client: Env) -> None:
    assert app_client.post("/signing/ca/rotate", {}).status_code == 201
    assert app_client.post("/signing/ca/rotate", {}).status_code == 201
    rows = _rows(app_client)
    root = TrustedRoot.from_json(app_client.get("/trust/root").json())
    windows = [a.validity for a in root.certificate_authorities]
    assert len(windows) == 3
    for validity, row, successor in zip(windows, rows, [*rows[1:], None], strict=True):
        assert validity.start == row.created_at.replace(microsecond=0)
        if successor is None:
            assert validity.end is None
        else:
            assert validity.end == (successor.created_at + LEAF_VALIDITY).replace(microsecond=0)
