"""Verify a chainproof bundle: payload type, signature, certificate chain, identity.

:class:`Verifier` is handed its trust material (CA certificates for keyless bundles, accepted
public keys for key-signed ones) and checks a bundle in a fixed order, raising
:class:`~chainproof.errors.VerificationError` whose message starts with the name of the
check that failed. Identity checks are policy objects with one method that raises
(STYLE.md §3); anything that weakens verification has ``Unsafe`` in its name.

What is not checked yet: transparency-log inclusion, SCTs and RFC 3161 timestamps (the
certificate's validity is checked at ``now``, to become the timestamp's time when the
timestamp authority lands).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from chainproof.core.bundle import Bundle
from chainproof.core.statement import PAYLOAD_TYPE, Statement
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing._keys import PublicKey, ecdsa, key_hint, supported

__all__ = [
    "AllOf",
    "AnyOf",
    "ExactIdentity",
    "IdentityPolicy",
    "IdentityPrefix",
    "KeyIdentity",
    "UnsafeNoIdentityCheck",
    "VerifiedAttestation",
    "Verifier",
]


class IdentityPolicy(Protocol):
    """Decides whether a signer identity is acceptable; raises VerificationError if not.

    The identity is the certificate's SAN URI (keyless) or the public-key hint (``--key``).
    """

    def verify(self, identity: str) -> None:
        """Return if ``identity`` is acceptable; raise VerificationError saying why not."""
        ...


@dataclass(frozen=True)
class ExactIdentity:
    """The signer must be exactly this identity (a run's SAN URI, or a key hint)."""

    identity: str

    def verify(self, identity: str) -> None:
        """Raise VerificationError unless ``identity`` equals the expected one."""
        if identity != self.identity:
            raise VerificationError(
                f"identity check failed: signed by {identity!r}, expected {self.identity!r}"
            )


@dataclass(frozen=True)
class IdentityPrefix:
    """The signer identity must start with this prefix (e.g. one workflow's runs).

    End the prefix with ``/`` to match whole path segments only.
    """

    prefix: str

    def verify(self, identity: str) -> None:
        """Raise VerificationError unless ``identity`` starts with the prefix."""
        if not identity.startswith(self.prefix):
            raise VerificationError(
                f"identity check failed: signed by {identity!r}, expected an identity "
                f"starting with {self.prefix!r}"
            )


@dataclass(frozen=True)
class KeyIdentity:
    """The bundle must be signed by this public key (its identity is the key's hint)."""

    hint: str

    @classmethod
    def of_pem(cls, public_key_pem: bytes) -> KeyIdentity:
        """The identity of a PEM public key; InvalidInput if it is not one we support."""
        return cls(key_hint(_load_public_key(public_key_pem)))

    def verify(self, identity: str) -> None:
        """Raise VerificationError unless the bundle names this key."""
        if identity != self.hint:
            raise VerificationError(
                f"identity check failed: signed by key {identity!r}, expected key {self.hint!r}"
            )


@dataclass(frozen=True)
class AllOf:
    """Every policy must accept the identity (the first refusal is raised)."""

    policies: tuple[IdentityPolicy, ...]

    def verify(self, identity: str) -> None:
        """Run each policy in order; raise the first VerificationError."""
        if not self.policies:
            raise VerificationError("identity check failed: AllOf() has no policies")
        for policy in self.policies:
            policy.verify(identity)


@dataclass(frozen=True)
class AnyOf:
    """At least one policy must accept the identity."""

    policies: tuple[IdentityPolicy, ...]

    def verify(self, identity: str) -> None:
        """Return at the first policy that accepts; else raise naming every refusal."""
        reasons = []
        for policy in self.policies:
            try:
                policy.verify(identity)
            except VerificationError as err:
                reasons.append(err.message)
            else:
                return
        raise VerificationError(
            f"identity check failed: no policy accepted {identity!r} ({'; '.join(reasons)})"
        )


class UnsafeNoIdentityCheck:
    """Accepts any signer the trust material accepts. For inspection only, never for gates."""

    def verify(self, identity: str) -> None:
        """Accept every identity."""
        return None


@dataclass(frozen=True)
class VerifiedAttestation:
    """What a successful verification proves: this statement, signed by this identity.

    ``payload_type`` is the DSSE payload type (always in-toto here); ``certificate_der`` is
    the signing certificate of a keyless bundle, None for a key-signed one. Callers still
    check ``statement.predicate_type`` before trusting the predicate.
    """

    statement: Statement
    payload_type: str
    identity: str
    certificate_der: bytes | None


def _load_public_key(pem: bytes) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InvalidInput("not a PEM public key") from None
    if not supported(key) or not isinstance(
        key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
    ):
        raise InvalidInput("accepted public keys must be ECDSA P-256/P-384/P-521 or Ed25519")
    return key


def _verify_signature(key: PublicKey, sig: bytes, data: bytes) -> None:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        else:
            key.verify(sig, data, ecdsa(key.curve))
    except InvalidSignature:
        raise VerificationError(
            "signature check failed: the DSSE signature does not match the payload"
        ) from None


class Verifier:
    """Verifies bundles against CA certificates (keyless) and accepted public keys.

    ``ca_certs`` are PEM CA certificates (all trusted, e.g. an organisation's current and
    rotated-out CAs); ``public_keys`` are PEM public keys whose key-signed bundles are
    accepted. Raises InvalidInput when any of them does not parse.
    """

    def __init__(self, *, ca_certs: Sequence[bytes] = (), public_keys: Sequence[bytes] = ()):
        self._cas: list[x509.Certificate] = []
        for pem in ca_certs:
            try:
                self._cas.append(x509.load_pem_x509_certificate(pem))
            except ValueError:
                raise InvalidInput("a trusted CA certificate is not PEM") from None
        self._keys: dict[str, PublicKey] = {}
        for pem in public_keys:
            key = _load_public_key(pem)
            self._keys[key_hint(key)] = key

    def verify(
        self, bundle: Bundle, policy: IdentityPolicy, *, now: datetime | None = None
    ) -> VerifiedAttestation:
        """Check ``bundle`` and return its statement with the signer's identity.

        In order: the payload type is in-toto; there is exactly one signature; for a
        certificate, that it chains to a trusted CA, is valid at ``now`` (default: the
        current time) and allows code signing; for a key hint, that it names an accepted
        key; that the signature verifies over the DSSE PAE; that ``policy`` accepts the
        identity; that the payload is an in-toto Statement. Raises VerificationError whose
        message names the failed check.
        """
        at = now or datetime.now(UTC)
        if at.tzinfo is None:  # naive times are UTC in chainproof
            at = at.replace(tzinfo=UTC)
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
        key: PublicKey
        if cert_der is not None:
            leaf = self._check_certificate(cert_der, at)
            leaf_key = leaf.public_key()
            if not supported(leaf_key) or not isinstance(
                leaf_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
            ):
                raise VerificationError("certificate check failed: unsupported key type")
            key = leaf_key
            identity = _san_uri(leaf)
        else:
            hint = bundle.public_key_hint or ""
            found = self._keys.get(hint)
            if found is None:
                raise VerificationError(
                    f"key check failed: the bundle was signed by a key that is not accepted "
                    f"(hint {hint!r})",
                    hint="register the public key with the organisation, or verify with --key",
                )
            key = found
            identity = hint
        _verify_signature(key, sig, envelope.pae())
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
        candidates = [ca for ca in self._cas if ca.subject == leaf.issuer]
        if not candidates:
            raise VerificationError(
                f"certificate chain check failed: issuer {leaf.issuer.rfc4514_string()!r} "
                "is not a trusted CA"
            )
        issuer = next((ca for ca in candidates if _issued_by(leaf, ca)), None)
        if issuer is None:
            raise VerificationError(
                "certificate chain check failed: not signed by the trusted CA "
                f"{leaf.issuer.rfc4514_string()!r}"
            )
        if not _is_ca(issuer):
            raise VerificationError("certificate chain check failed: the issuer is not a CA")
        if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
            raise VerificationError(
                f"certificate chain check failed: the CA is not valid at {now:%Y-%m-%d %H:%M:%S}"
            )
        if _is_ca(leaf):
            raise VerificationError("certificate check failed: the signing certificate is a CA")
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise VerificationError(
                "certificate validity check failed: valid "
                f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} to "
                f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC, checked at "
                f"{now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
            )
        try:
            eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            eku = None
        if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
            raise VerificationError("certificate usage check failed: no code-signing EKU")
        return leaf


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


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
