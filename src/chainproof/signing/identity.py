"""Who signed a bundle, and the policies that decide whether that signer is acceptable.

A signer is a certificate identity (the SAN: a URI such as a chainproof run's
``chainproof://org/project/workflow/runs/id`` or a CI workflow, or an e-mail address) with
the OIDC issuer the CA recorded (Fulcio's issuer extensions), or, for key-signed bundles,
the public-key hint. Policies are objects with one method, ``verify(signer)``, that raises
:class:`~chainproof.errors.VerificationError` naming the identity check (docs/contributing.md §3);
anything that weakens verification has ``Unsafe`` in its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ObjectIdentifier

from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing._keys import VerifyKey, key_hint, supported
from chainproof.signing.ca import FULCIO_ISSUER_V2

__all__ = [
    "FULCIO_ISSUER_V1",
    "AllOf",
    "AnyOf",
    "ExactIdentity",
    "IdentityPolicy",
    "IdentityPrefix",
    "KeyIdentity",
    "OidcIssuer",
    "SignerIdentity",
    "UnsafeNoIdentityCheck",
    "certificate_identity",
    "load_public_key",
]

# Fulcio's deprecated "Issuer" extension: the OIDC issuer as raw UTF-8 bytes
# (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md, 1.3.6.1.4.1.57264.1.1).
FULCIO_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
# Fulcio's "OtherName SAN" for username identities (oid-info.md, 1.3.6.1.4.1.57264.1.7).
_FULCIO_USERNAME = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


@dataclass(frozen=True)
class SignerIdentity:
    """The signer of a bundle: its identity and, for certificates, the OIDC issuer."""

    identity: str
    issuer: str | None = None

    def __str__(self) -> str:
        return self.identity


class IdentityPolicy(Protocol):
    """Decides whether a signer is acceptable; raises VerificationError if not."""

    def verify(self, signer: SignerIdentity) -> None:
        """Return if ``signer`` is acceptable; raise VerificationError saying why not."""
        ...


@dataclass(frozen=True)
class ExactIdentity:
    """The signer must be exactly this identity (a run's SAN URI, or a key hint)."""

    identity: str

    def verify(self, signer: SignerIdentity) -> None:
        """Raise VerificationError unless the signer's identity equals the expected one."""
        if signer.identity != self.identity:
            raise VerificationError(
                f"identity check failed: signed by {signer.identity!r}, expected {self.identity!r}"
            )


@dataclass(frozen=True)
class IdentityPrefix:
    """The signer identity must start with this prefix (e.g. one workflow's runs).

    End the prefix with ``/`` to match whole path segments only.
    """

    prefix: str

    def verify(self, signer: SignerIdentity) -> None:
        """Raise VerificationError unless the identity starts with the prefix."""
        if not signer.identity.startswith(self.prefix):
            raise VerificationError(
                f"identity check failed: signed by {signer.identity!r}, expected an identity "
                f"starting with {self.prefix!r}"
            )


@dataclass(frozen=True)
class OidcIssuer:
    """The signing certificate must record this OIDC issuer (Fulcio's issuer extension)."""

    issuer: str

    def verify(self, signer: SignerIdentity) -> None:
        """Raise VerificationError unless the certificate's issuer is the expected one."""
        if signer.issuer != self.issuer:
            raise VerificationError(
                f"identity check failed: OIDC issuer {signer.issuer!r}, expected {self.issuer!r}"
            )


@dataclass(frozen=True)
class KeyIdentity:
    """The bundle must be signed by this public key (its identity is the key's hint)."""

    hint: str

    @classmethod
    def of_pem(cls, public_key_pem: bytes) -> KeyIdentity:
        """The identity of a PEM public key; InvalidInput if it is not one we support."""
        return cls(key_hint(load_public_key(public_key_pem)))

    def verify(self, signer: SignerIdentity) -> None:
        """Raise VerificationError unless the bundle was signed by this key."""
        if signer.identity != self.hint:
            raise VerificationError(
                f"identity check failed: signed by key {signer.identity!r}, expected key "
                f"{self.hint!r}"
            )


@dataclass(frozen=True)
class AllOf:
    """Every policy must accept the signer (the first refusal is raised)."""

    policies: tuple[IdentityPolicy, ...]

    def verify(self, signer: SignerIdentity) -> None:
        """Run each policy in order; raise the first VerificationError."""
        if not self.policies:
            raise VerificationError("identity check failed: AllOf() has no policies")
        for policy in self.policies:
            policy.verify(signer)


@dataclass(frozen=True)
class AnyOf:
    """At least one policy must accept the signer."""

    policies: tuple[IdentityPolicy, ...]

    def verify(self, signer: SignerIdentity) -> None:
        """Return at the first policy that accepts; else raise naming every refusal."""
        reasons = []
        for policy in self.policies:
            try:
                policy.verify(signer)
            except VerificationError as err:
                reasons.append(err.message)
            else:
                return
        raise VerificationError(
            f"identity check failed: no policy accepted {signer.identity!r} ({'; '.join(reasons)})"
        )


class UnsafeNoIdentityCheck:
    """Accepts any signer the trust material accepts. For inspection only, never for gates."""

    def verify(self, signer: SignerIdentity) -> None:
        """Accept every signer."""
        return None


def load_public_key(pem: bytes) -> VerifyKey:
    """A PEM public key chainproof verifies with (ECDSA P-256/384/521, Ed25519, RSA >= 2048).

    Raises InvalidInput for anything else.
    """
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InvalidInput("not a PEM public key") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return key
    if not supported(key) or not isinstance(
        key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
    ):
        raise InvalidInput(
            "accepted public keys must be ECDSA P-256/P-384/P-521, Ed25519 or RSA (2048+ bits)"
        )
    return key


def _der_utf8(value: bytes) -> str | None:
    """The text of a DER UTF8String (tag 0x0C), or None if ``value`` is not one."""
    if len(value) < 2 or value[0] != 0x0C:
        return None
    length, offset = value[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, offset = int.from_bytes(value[2 : 2 + size], "big"), 2 + size
    if offset + length != len(value):
        return None
    try:
        return value[offset:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _issuer(cert: x509.Certificate) -> str | None:
    for ext in cert.extensions:
        if not isinstance(ext.value, x509.UnrecognizedExtension):
            continue
        if ext.oid == FULCIO_ISSUER_V2:
            return _der_utf8(ext.value.value)
        if ext.oid == FULCIO_ISSUER_V1:
            try:
                return ext.value.value.decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def certificate_identity(cert: x509.Certificate) -> SignerIdentity:
    """The identity a signing certificate names (its one SAN) and its OIDC issuer.

    Raises VerificationError ("identity check failed") when the certificate names no URI,
    e-mail or Fulcio username, or more than one.
    """
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise VerificationError(
            "identity check failed: the certificate names no identity"
        ) from None
    names = [str(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
    names += [str(e) for e in san.get_values_for_type(x509.RFC822Name)]
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == _FULCIO_USERNAME:
            text = _der_utf8(other.value)
            if text is not None:
                names.append(text)
    if len(names) != 1:
        raise VerificationError(
            f"identity check failed: the certificate must name one identity, it names {len(names)}"
        )
    return SignerIdentity(names[0], _issuer(cert))
