"""Signing with a key file (`push --key`) and verifying against accepted public keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing.signer import KeySigner
from chainproof.signing.verifier import ExactIdentity, UnsafeNoIdentityCheck, Verifier

STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "x", "digest": {"sha256": "1" * 64}}],
    "predicateType": "https://chainproof.dev/attestation/v1",
    "predicate": {},
}


def _pem(key: object, password: bytes | None = None) -> bytes:
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
    )


@pytest.mark.parametrize(
    "key", [ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()]
)
def test_registered_key_verifies(key: object) -> None:
    signer = KeySigner.from_pem(_pem(key))
    bundle = signer.sign(STATEMENT)
    verified = Verifier(public_keys=[signer.public_key_pem]).verify(
        bundle, ExactIdentity(signer.hint)
    )
    assert verified.identity == signer.hint
    assert verified.certificate_der is None


def test_unregistered_key_is_refused() -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    other = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(VerificationError, match="not accepted"):
        Verifier(public_keys=[other.public_key_pem]).verify(
            signer.sign(STATEMENT), UnsafeNoIdentityCheck()
        )


def test_encrypted_key_needs_the_right_password() -> None:
    pem = _pem(ec.generate_private_key(ec.SECP256R1()), b"s3cret")
    assert KeySigner.from_pem(pem, b"s3cret").sign(STATEMENT).public_key_hint
    with pytest.raises(InvalidInput, match="wrong password"):
        KeySigner.from_pem(pem, b"nope")
    with pytest.raises(InvalidInput, match="encrypted"):
        KeySigner.from_pem(pem)


def test_unsupported_keys_are_refused() -> None:
    with pytest.raises(InvalidInput, match="ECDSA or Ed25519"):
        KeySigner.from_pem(_pem(rsa.generate_private_key(65537, 2048)))
    with pytest.raises(InvalidInput, match="PEM private key"):
        KeySigner.from_pem(b"-----BEGIN NOTHING-----")
