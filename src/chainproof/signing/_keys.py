"""Key helpers shared by signers and the verifier (private to ``chainproof.signing``)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

# ECDSA curve -> digest, as Sigstore's PublicKeyDetails pair them (PKIX_ECDSA_P256_SHA_256,
# PKIX_ECDSA_P384_SHA_384, PKIX_ECDSA_P521_SHA_512). Ed25519 signs the message itself.
_EC_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


def supported(key: object) -> bool:
    """Whether ``key`` (private or public) is one chainproof signs or verifies with."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return True
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return key.curve.name in _EC_HASHES
    return False


def ecdsa(curve: ec.EllipticCurve) -> ec.ECDSA:
    """The ECDSA signature algorithm for ``curve`` (its Sigstore digest)."""
    return ec.ECDSA(_EC_HASHES[curve.name]())


def spki_der(key: PublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_hint(public_key: PublicKey) -> str:
    """The public-key hint of key-signed bundles: base64 (standard) of SHA-256 of the SPKI DER.

    Sigstore's ``PublicKeyIdentifier.hint`` is an opaque string "to help select the key";
    chainproof fixes it so that a verifier with several accepted keys finds the right one.
    """
    return base64.b64encode(hashlib.sha256(spki_der(public_key)).digest()).decode("ascii")
