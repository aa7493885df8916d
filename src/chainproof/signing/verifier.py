"""Verify a chainproof bundle: signature, certificate chain, identity, payload.

``Verifier`` is handed its trust material (CA certificates, accepted public keys) and checks a
bundle in a fixed order, raising :class:`VerificationError` that names the first check that
failed. Identity checks are policy objects that raise (STYLE §3); anything that weakens
verification has ``Unsafe`` in its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from chainproof.core.bundle import Bundle
from chainproof.core.statement import PAYLOAD_TYPE, Statement
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing.signer import key_hint

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


class IdentityPolicy(Protocol):
    """Decides whether a signer identity is acceptable; raises VerificationError if not."""

    def verify(self, identity: str) -> None: ...


@dataclass(frozen=True)
class ExactIdentity:
    """The signer must be exactly this identity (a run's SAN URI, or a key hint)."""

    identity: str

    def verify(self, identity: str) -> None:
        if identity != self.identity:
            raise VerificationError(
                f"identity check failed: signed by {identity!r}, expected {self.identity!r}"
            )


@dataclass(frozen=True)
class IdentityPrefix:
    """The signer identity must start with this prefix (e.g. one workflow's runs)."""

    prefix: str

    def verify(self, identity: str) -> None:
        if not identity.startswith(self.prefix):
            raise VerificationError(
                f"identity check failed: {identity!r} does not start with {self.prefix!r}"
            )


@dataclass(frozen=True)
class KeyIdentity:
    """The bundle must be signed by this public key (identity = the key's hint)."""

    hint: str

    @classmethod
    def of_pem(cls, public_key_pem: bytes) -> KeyIdentity:
        """The identity of a PEM public key."""
        key = serialization.load_pem_public_key(public_key_pem)
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key_hint(der))

    def verify(self, identity: str) -> None:
        if identity != self.hint:
            raise VerificationError("key check failed: signed by another key")


class UnsafeNoIdentityCheck:
    """Accepts any signer the trust material accepts. Only for inspection, never for gates."""

    def verify(self, identity: str) -> None:
        return None


@dataclass(frozen=True)
class VerifiedAttestation:
    """What a successful verification proves: this statement, signed by this identity."""

    statement: Statement
    payload_type: str
    identity: str
    certificate_der: bytes | None


def _verify_sig(key: object, sig: bytes, data: bytes) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(sig, data)
    else:
        raise VerificationError("unsupported signing key type")


class Verifier:
    """Verifies bundles against CA certificates (keyless) and registered public keys."""

    def __init__(self, *, ca_certs: Sequence[bytes] = (), public_keys: Sequence[bytes] = ()):
        self._cas = [x509.load_pem_x509_certificate(pem) for pem in ca_certs]
        self._keys: dict[str, PublicKey] = {}
        for pem in public_keys:
            key = serialization.load_pem_public_key(pem)
            if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
                raise InvalidInput("accepted public keys must be ECDSA or Ed25519")
            der = key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            self._keys[key_hint(der)] = key

    def verify(
        self, bundle: Bundle, policy: IdentityPolicy, *, now: datetime | None = None
    ) -> VerifiedAttestation:
        """Check the bundle and return its statement; VerificationError names what failed."""
        envelope = bundle.envelope
        if envelope.payload_type != PAYLOAD_TYPE:
            raise VerificationError(
                f"payload type check failed: {envelope.payload_type!r} is not {PAYLOAD_TYPE}"
            )
        if len(envelope.signatures) != 1:
            raise VerificationError(
                f"signature check failed: expected one signature, found {len(envelope.signatures)}"
            )
        sig = envelope.signatures[0].sig
        cert_der = bundle.leaf_certificate_der
        if cert_der is not None:
            leaf = self._check_certificate(cert_der, now or datetime.now(UTC))
            key: object = leaf.public_key()
            identity = _san_uri(leaf)
        else:
            hint = bundle.public_key_hint or ""
            key = self._keys.get(hint)
            if key is None:
                raise VerificationError(
                    "key check failed: the bundle was signed by a key that is not accepted",
                    hint="register the public key, or verify with --key",
                )
            identity = hint
        try:
            _verify_sig(key, sig, envelope.pae())
        except InvalidSignature:
            raise VerificationError(
                "signature check failed: the DSSE signature does not match the payload"
            ) from None
        policy.verify(identity)
        try:
            statement = Statement.from_json(envelope.payload)
        except InvalidInput as err:
            raise VerificationError(f"payload check failed: {err.message}") from None
        return VerifiedAttestation(statement, envelope.payload_type, identity, cert_der)

    def _check_certificate(self, der: bytes, now: datetime) -> x509.Certificate:
        try:
            leaf = x509.load_der_x509_certificate(der)
        except ValueError:
            raise VerificationError("certificate check failed: not a DER certificate") from None
        issuer = next((ca for ca in self._cas if ca.subject == leaf.issuer), None)
        if issuer is None:
            raise VerificationError(
                f"certificate chain check failed: issuer {leaf.issuer.rfc4514_string()!r} "
                "is not a trusted CA"
            )
        try:
            leaf.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise VerificationError(
                "certificate chain check failed: not signed by the trusted CA"
            ) from None
        try:
            if not issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                raise VerificationError("certificate chain check failed: issuer is not a CA")
        except x509.ExtensionNotFound:
            raise VerificationError("certificate chain check failed: issuer is not a CA") from None
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise VerificationError(
                "certificate validity check failed: valid "
                f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} to "
                f"{leaf.not_valid_after_utc:%H:%M:%S} UTC, checked at {now:%Y-%m-%d %H:%M:%S} UTC"
            )
        try:
            eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            eku = None
        if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
            raise VerificationError("certificate usage check failed: no code-signing EKU")
        return leaf


def _san_uri(cert: x509.Certificate) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise VerificationError(
            "identity check failed: the certificate names no identity"
        ) from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        raise VerificationError("identity check failed: the certificate must name one URI")
    return str(uris[0])
