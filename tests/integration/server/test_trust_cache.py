"""The per-process cache of trusted material (services/trust_cache.py), on SQLite and
PostgreSQL: a warm push reads it in one statement, and a rotation made through one app is
used at once by another app on the same database (two API processes), with no TTL."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from tests.integration.conftest import Env
from tests.integration.server.test_signing_ca import _leaf, _push
from tests.integration.statements import recorded

from chainproof.server.app import create_app
from chainproof.server.services import trust_keys
from chainproof.signing.tsa import TimestampAuthority


@pytest.fixture
def other(app_client: Env) -> Iterator[Env]:
    """The same organisation through a second app on the same database (its own cache)."""
    app = create_app(app_client.settings, start_worker=False)
    client = TestClient(app, raise_server_exceptions=False)
    yield dataclasses.replace(app_client, client=client, sessions=app.state.sessions)
    client.close()
    app.state.engine.dispose()


def _trust_reads(env: Env) -> contextlib.AbstractContextManager[list[str]]:
    return recorded(env, lambda s: "trust_keys" in s or "signing_cas" in s)


def test_a_warm_push_reads_trusted_material_once(app_client: Env) -> None:
    _push(app_client, first=True)  # creates the service keys, fills the cache
    with _trust_reads(app_client) as seen:
        _push(app_client, first=False)  # certificate request + push
    # One fingerprint per transaction: the certificate's, the push's and its VSA's, issued
    # once the push committed (was 14). The log's batch signs with the key its caller read.
    assert len(seen) == 3, seen


def test_ca_rotation_through_one_app_is_used_by_the_other(app_client: Env, other: Env) -> None:
    _push(app_client, first=True)
    _push(other, first=False)  # the other app's cache holds the first CA and root
    cas_before = len(other.get("/trust/root").json()["certificateAuthorities"])

    reply = app_client.post("/signing/ca/rotate", {})
    assert reply.status_code == 201, reply.text
    new_ca = x509.load_pem_x509_certificate(reply.json()["certificate"].encode())

    # The other app issues from the new CA and verifies the push with the new root.
    bundle = _push(other, first=False)
    _leaf(bundle).verify_directly_issued_by(new_ca)
    cas_after = other.get("/trust/root").json()["certificateAuthorities"]
    assert len(cas_after) == cas_before + 1


def test_service_key_rotation_is_seen_by_the_other_app(app_client: Env, other: Env) -> None:
    _push(app_client, first=True)
    _push(other, first=False)
    with app_client.sessions.begin() as session:
        rotated = trust_keys.rotate(session, app_client.org["id"], "tsa", make=_tsa_key)

    _push(other, first=False)  # timestamped by the new key: the root lists both

    root = other.get("/trust/root").json()
    assert len(root["timestampAuthorities"]) == 2
    with other.sessions() as session:
        current = trust_keys.current_key(session, other.org["id"], "tsa")
    assert current.row_id == rotated.row_id


def _tsa_key() -> tuple[ec.EllipticCurvePrivateKey, list[bytes]]:
    created = TimestampAuthority.create("rotated")
    key = serialization.load_pem_private_key(created.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, list(created.chain_pem)
