"""Signing with a key file (`push --key`) and verifying against accepted public keys."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from chainproof.core.bundle import Bundle
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing.signer import KeySigner
from chainproof.signing.verifier import (
    AnyOf,
    ExactIdentity,
    KeyIdentity,
    UnsafeNoIdentityCheck,
    Verifier,
)

STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "x", "digest": {"sha256": "1" * 64}}],
    "predicateType": "https://chainproof.dev/attestation/v1",
    "predicate": {"workflow": {"runID": "run-1"}},
}


def _pem(key: Any, password: bytes | None = None) -> bytes:
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
    )
    return pem


KEYS = {
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "p384": ec.generate_private_key(ec.SECP384R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_registered_key_verifies(name: str) -> None:
    signer = KeySigner.from_pem(_pem(KEYS[name]))
    bundle = Bundle.from_json(signer.sign(STATEMENT).to_json())
    verified = Verifier(public_keys=[signer.public_key_pem]).verify(
        bundle, KeyIdentity.of_pem(signer.public_key_pem)
    )
    assert verified.identity == signer.hint
    assert verified.certificate_der is None
    assert verified.statement.workflow_run_id == "run-1"


def test_hint_is_base64_sha256_of_the_spki() -> None:
    signer = KeySigner(KEYS["p256"])
    spki = (
        KEYS["p256"]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    expected = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    assert signer.hint == expected
    bundle = signer.sign(STATEMENT)
    assert bundle.to_dict()["verificationMaterial"] == {
        "publicKey": {"hint": expected},
        "tlogEntries": [],
        "timestampVerificationData": {"rfc3161Timestamps": []},
    }
    assert bundle.leaf_certificate_der is None


def test_unregistered_key_is_refused() -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    other = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(VerificationError, match=r"key check failed.*not accepted"):
        Verifier(public_keys=[other.public_key_pem]).verify(
            signer.sign(STATEMENT), UnsafeNoIdentityCheck()
        )
    with pytest.raises(VerificationError, match="key check failed"):
        Verifier().verify(signer.sign(STATEMENT), UnsafeNoIdentityCheck())


def test_accepted_key_but_another_identity_expected() -> None:
    signer = KeySigner(KEYS["p256"])
    other = KeySigner(KEYS["ed25519"])
    verifier = Verifier(public_keys=[signer.public_key_pem, other.public_key_pem])
    with pytest.raises(VerificationError, match="identity check failed"):
        verifier.verify(signer.sign(STATEMENT), KeyIdentity.of_pem(other.public_key_pem))
    policy = AnyOf((ExactIdentity("nope"), KeyIdentity(signer.hint)))
    assert verifier.verify(signer.sign(STATEMENT), policy).identity == signer.hint


def test_hint_pointing_at_another_accepted_key_fails_the_signature() -> None:
    signer = KeySigner(KEYS["p256"])
    other = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    data = signer.sign(STATEMENT).to_dict()
    data["verificationMaterial"]["publicKey"]["hint"] = other.hint
    with pytest.raises(VerificationError, match="signature check failed"):
        Verifier(public_keys=[other.public_key_pem]).verify(
            Bundle.from_json(data), UnsafeNoIdentityCheck()
        )


def test_tampered_key_bundle_is_refused() -> None:
    signer = KeySigner(KEYS["ed25519"])
    data = signer.sign(STATEMENT).to_dict()
    statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
    statement["predicate"]["workflow"]["runID"] = "run-2"
    data["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(VerificationError, match="signature check failed"):
        Verifier(public_keys=[signer.public_key_pem]).verify(
            Bundle.from_json(data), UnsafeNoIdentityCheck()
        )


def test_encrypted_key_needs_the_right_password() -> None:
    pem = _pem(KEYS["p256"], b"s3cret")
    assert KeySigner.from_pem(pem, b"s3cret").hint == KeySigner(KEYS["p256"]).hint
    with pytest.raises(InvalidInput, match="wrong password"):
        KeySigner.from_pem(pem, b"nope")
    with pytest.raises(InvalidInput, match="encrypted and no password"):
        KeySigner.from_pem(pem)
    with pytest.raises(InvalidInput, match="not encrypted"):
        KeySigner.from_pem(_pem(KEYS["p256"]), b"s3cret")


def test_unsupported_keys_are_refused() -> None:
    with pytest.raises(InvalidInput, match="ECDSA P-256/P-384/P-521 or Ed25519"):
        KeySigner.from_pem(_pem(rsa.generate_private_key(65537, 2048)))
    with pytest.raises(InvalidInput, match="PEM private key"):
        KeySigner.from_pem(b"-----BEGIN NOTHING-----")
    with pytest.raises(InvalidInput, match="ECDSA P-256/P-384/P-521 or Ed25519"):
        KeySigner(ec.generate_private_key(ec.SECP224R1()))  # type: ignore[arg-type]


def test_keyless_and_key_paths_build_the_same_envelope() -> None:
    from chainproof.signing.ca import CertificateAuthority, identity_uri
    from chainproof.signing.signer import EphemeralSigner

    ca = CertificateAuthority.create("acme")
    uri = identity_uri("acme", "shop", "build", "run-1")
    ephemeral = EphemeralSigner()
    keyless = ephemeral.sign(STATEMENT, ca.issue(ephemeral.csr(uri), identity_uri=uri))
    keyed = KeySigner(KEYS["p256"]).sign(STATEMENT)
    assert keyless.envelope.payload == keyed.envelope.payload
    assert keyless.envelope.payload_type == keyed.envelope.payload_type
    assert [s.keyid for s in keyless.envelope.signatures] == [""]
    assert [s.keyid for s in keyed.envelope.signatures] == [""]
