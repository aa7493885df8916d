"""Signers: turn a Statement into a DSSE envelope inside a Sigstore bundle.

``EphemeralSigner`` is keyless signing: a fresh P-256 key whose certificate the organisation's
CA issues for one run. ``KeySigner`` signs with a long-lived key file (``push --key``).
Signers never verify (STYLE §3); see ``chainproof.signing.verifier``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from chainproof.core.bundle import Bundle
from chainproof.core.dsse import Envelope, Signature, pae
from chainproof.core.statement import PAYLOAD_TYPE, canonical_json
from chainproof.errors import InvalidInput

SigningKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def key_hint(public_key_der: bytes) -> str:
    """The public-key hint of a key-signed bundle: base64 of SHA-256 of the SPKI DER."""
    return base64.b64encode(hashlib.sha256(public_key_der).digest()).decode()


def _sign(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _envelope(key: SigningKey, statement: Mapping[str, Any]) -> Envelope:
    payload = canonical_json(statement)
    sig = _sign(key, pae(PAYLOAD_TYPE, payload))
    return Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures=(Signature(sig),))


class EphemeralSigner:
    """A one-use P-256 key; its certificate comes from the organisation's CA via a CSR."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    def csr(self, identity_uri: str) -> bytes:
        """A PEM CSR naming ``identity_uri``; its signature proves possession of the key."""
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([]))
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity_uri)]),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM)

    def sign(self, statement: Mapping[str, Any], chain: Sequence[bytes]) -> Bundle:
        """A v0.3 bundle of the statement, carrying the leaf of ``chain`` (PEM, leaf first)."""
        if not chain:
            raise InvalidInput("keyless signing needs the certificate issued for this key")
        leaf = x509.load_pem_x509_certificate(chain[0])
        mine = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        theirs = leaf.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if mine != theirs:
            raise InvalidInput("the certificate was issued for another key")
        return Bundle(
            envelope=_envelope(self._key, statement),
            certificate_chain_der=(leaf.public_bytes(serialization.Encoding.DER),),
        )


class KeySigner:
    """Signs with a long-lived private key (PKCS#8 PEM, EC or Ed25519)."""

    def __init__(self, key: SigningKey) -> None:
        self._key = key

    @classmethod
    def from_pem(cls, data: bytes, password: bytes | None = None) -> KeySigner:
        """Load a PEM private key; InvalidInput for a wrong password or an unsupported key."""
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except TypeError:
            raise InvalidInput(
                "the key is encrypted" if password is None else "the key is not encrypted",
                hint="set COSIGN_PASSWORD (or --key-password) to the key's password",
            ) from None
        except ValueError:
            raise InvalidInput(
                "cannot read the signing key: not a PEM private key, or a wrong password"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise InvalidInput("signing keys must be ECDSA or Ed25519")
        return cls(key)

    @property
    def public_key_pem(self) -> bytes:
        """The public key, SubjectPublicKeyInfo PEM (what the organisation registers)."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def hint(self) -> str:
        """The public-key hint this signer puts in its bundles."""
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return key_hint(der)

    def sign(self, statement: Mapping[str, Any]) -> Bundle:
        """A v0.3 bundle of the statement with a public-key hint."""
        return Bundle(envelope=_envelope(self._key, statement), public_key_hint=self.hint)
