"""Key helpers shared by signers and the verifier (private to ``chainproof.signing``)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
# Any key a Sigstore trusted root or bundle may name: logs, CT logs, managed keys.
VerifyKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

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


def spki_der(key: VerifyKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_hint(public_key: VerifyKey) -> str:
    """The public-key hint of key-signed bundles: base64 (standard) of SHA-256 of the SPKI DER.

    Sigstore's ``PublicKeyIdentifier.hint`` is an opaque string "to help select the key";
    chainproof fixes it so that a verifier with several accepted keys finds the right one.
    """
    return base64.b64encode(hashlib.sha256(spki_der(public_key)).digest()).decode("ascii")


# -- verification keys from trusted roots and bundles -------------------------------------


def load_verify_key(der: bytes) -> VerifyKey:
    """A public key from DER (SubjectPublicKeyInfo, or PKCS#1 for RSA).

    Raises ValueError for anything else (including unsupported curves and RSA keys under
    2048 bits).
    """
    key = serialization.load_der_public_key(der)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _EC_HASHES:
        return key
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return key
    raise ValueError("unsupported public key type")


def verify_signature(
    key: VerifyKey, signature: bytes, data: bytes, *, digest: hashes.HashAlgorithm | None = None
) -> bool:
    """Whether ``signature`` by ``key`` covers ``data``; never raises for a bad signature.

    ECDSA and RSA (PKCS#1 v1.5) hash ``data`` with the curve's Sigstore digest (SHA-256 for
    RSA) unless ``digest`` is given; with ``digest``, ``data`` is already that hash
    (prehashed). Ed25519 signs ``data`` itself and cannot take a prehashed input.
    """
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if digest is not None:
                return False
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            algorithm = (
                ec.ECDSA(utils.Prehashed(digest)) if digest is not None else ecdsa(key.curve)
            )
            key.verify(signature, data, algorithm)
        else:
            chosen: hashes.HashAlgorithm | utils.Prehashed = (
                utils.Prehashed(digest) if digest is not None else hashes.SHA256()
            )
            key.verify(signature, data, padding.PKCS1v15(), chosen)
    except (InvalidSignature, ValueError):
        return False
    return True
