"""Signers: turn an in-toto Statement into a DSSE envelope inside a Sigstore bundle.

* :class:`EphemeralSigner` is keyless signing: a fresh P-256 key that lives for one push,
  whose certificate the organisation's CA issues from a CSR (``POST /signing/certificates``).
* :class:`KeySigner` signs with a long-lived key file (``push --key``: PKCS#8 PEM or
  cosign's encrypted ``cosign.key``).

Both go through :func:`sign_bundle`, so they build identical envelopes: the payload is the
canonical JSON of the statement, the payload type ``application/vnd.in-toto+json``, and one
signature over the DSSE PAE (ECDSA with the curve's Sigstore digest, DER encoded; or
Ed25519). Signers never verify (docs/contributing.md §3): see :mod:`chainproof.signing.verifier`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from chainproof.core.bundle import Bundle
from chainproof.core.dsse import Envelope, Signature, pae
from chainproof.core.statement import PAYLOAD_TYPE, canonical_json
from chainproof.errors import InvalidInput
from chainproof.signing._keys import PrivateKey, ecdsa, key_hint, spki_der, supported

__all__ = ["EphemeralSigner", "KeySigner", "key_hint", "sign_bundle"]


def sign_bundle(
    key: PrivateKey,
    statement: Mapping[str, Any],
    *,
    certificate_der: bytes | None = None,
    public_key_hint: str | None = None,
) -> Bundle:
    """Sign ``statement`` with ``key`` into a v0.3 bundle; the one signing path.

    Give exactly one of ``certificate_der`` (the leaf certifying ``key``) and
    ``public_key_hint``. The DSSE signature covers ``PAE(payloadType, payload)``
    (DSSE protocol.md); the signature's ``keyid`` is left empty (it is only a hint, and the
    bundle's verification material already names the key).
    """
    payload = canonical_json(dict(statement))
    data = pae(PAYLOAD_TYPE, payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        sig = key.sign(data)
    else:
        sig = key.sign(data, ecdsa(key.curve))
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures=(Signature(sig),))
    return Bundle(
        envelope=envelope,
        certificate_chain_der=(certificate_der,) if certificate_der is not None else (),
        public_key_hint=public_key_hint,
    )


class EphemeralSigner:
    """A one-use P-256 key; its certificate comes from the organisation's CA via a CSR."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    def csr(self, identity_uri: str) -> bytes:
        """A PEM CSR asking for ``identity_uri``; its signature proves possession of the key.

        The CA decides the identity it certifies; the SAN here only states what is asked.
        """
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
        """A v0.3 bundle of ``statement`` carrying the leaf of ``chain`` (PEM, leaf first).

        Only the leaf goes into the bundle (v0.3); verifiers get the CA from their trusted
        root. Raises InvalidInput when ``chain`` is empty, not PEM, or its leaf certifies
        another key.
        """
        if not chain:
            raise InvalidInput("keyless signing needs the certificate issued for this key")
        try:
            leaf = x509.load_pem_x509_certificate(chain[0])
        except ValueError:
            raise InvalidInput("the issued certificate is not PEM") from None
        theirs = leaf.public_key()
        if not isinstance(theirs, ec.EllipticCurvePublicKey) or spki_der(theirs) != spki_der(
            self._key.public_key()
        ):
            raise InvalidInput("the certificate was issued for another key")
        return sign_bundle(
            self._key,
            statement,
            certificate_der=leaf.public_bytes(serialization.Encoding.DER),
        )


class KeySigner:
    """Signs with a long-lived private key: ECDSA (P-256, P-384, P-521) or Ed25519.

    Bundles carry ``verificationMaterial.publicKey.hint`` = base64 of SHA-256 of the key's
    DER SubjectPublicKeyInfo (see :func:`key_hint`); the verifier looks the key up by it.
    """

    def __init__(self, key: PrivateKey) -> None:
        if not supported(key):
            raise InvalidInput("signing keys must be ECDSA P-256/P-384/P-521 or Ed25519")
        self._key = key

    @classmethod
    def from_pem(cls, data: bytes, password: bytes | None = None) -> KeySigner:
        """Load a key file: PKCS#8 (or SEC1) PEM, clear or encrypted with ``password``, or
        cosign's encrypted format (:mod:`chainproof.signing.keyfile`).

        Raises InvalidInput for a missing or wrong password, a file that is not a private
        key, or an unsupported key type.
        """
        from chainproof.signing.keyfile import load_private_key

        return cls(load_private_key(data, password))

    @property
    def public_key_pem(self) -> bytes:
        """The public key, SubjectPublicKeyInfo PEM (what the organisation registers)."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def hint(self) -> str:
        """The public-key hint this signer puts in its bundles."""
        return key_hint(self._key.public_key())

    def sign(self, statement: Mapping[str, Any]) -> Bundle:
        """A v0.3 bundle of ``statement`` with a public-key hint (no certificate)."""
        return sign_bundle(self._key, statement, public_key_hint=self.hint)
