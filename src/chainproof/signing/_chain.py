"""Signing-certificate checks: the path to a trusted CA at a time, and the leaf profile.

The path is built by ``cryptography.x509.verification`` (RFC 5280 path validation with
the Web PKI profile, code signing EKU allowed, as sigstore-python does), after simple
pre-checks that give a precise message for the usual failures (unknown CA, impostor CA,
expired leaf, CA outside its trusted window).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    ClientVerifier,
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)
from cryptography.x509.verification import VerificationError as X509Error

from chainproof.errors import VerificationError
from chainproof.signing.trust import Authority

_CHAIN = "certificate chain check failed"


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def is_ca(cert: x509.Certificate) -> bool:
    """Whether ``cert`` says it is a CA (basic constraints)."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_leaf_profile(leaf: x509.Certificate) -> None:
    """The leaf must be an end entity allowed to sign code (KU digitalSignature, EKU)."""
    if is_ca(leaf):
        raise VerificationError("certificate check failed: the signing certificate is a CA")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.digital_signature:
        raise VerificationError("certificate usage check failed: no digitalSignature key usage")
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise VerificationError("certificate usage check failed: no code-signing EKU")


def check_validity(leaf: x509.Certificate, at: datetime, source: str) -> None:
    """The leaf must be valid at ``at`` (``source`` says where that time came from)."""
    if not leaf.not_valid_before_utc <= at <= leaf.not_valid_after_utc:
        raise VerificationError(
            f"certificate validity check failed: valid {_fmt(leaf.not_valid_before_utc)} to "
            f"{_fmt(leaf.not_valid_after_utc)}, signed at {_fmt(at)} ({source})"
        )


def _verifier(anchors: list[x509.Certificate], at: datetime) -> ClientVerifier:
    # Code-signing leaves carry the code-signing EKU, not the client-auth one a client
    # verifier expects; accept any EKU here (check_leaf_profile demands code signing).
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None
    )
    return (
        PolicyBuilder()
        .store(Store(anchors))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )


def verify_chain(
    leaf: x509.Certificate, authorities: Sequence[Authority], at: datetime
) -> list[x509.Certificate]:
    """Validate the path from ``leaf`` to a certificate authority valid at ``at``.

    Returns the chain above the leaf (issuer first). Raises VerificationError
    ("certificate chain check failed: ...") when no authority of the trusted root issued
    the leaf, the authority is outside its validity window, or path validation fails.
    """
    valid = [a for a in authorities if a.validity.contains(at)]
    anchors = [
        c for a in valid for c in a.chain if c.not_valid_before_utc <= at <= c.not_valid_after_utc
    ]
    reason = "no certificate authority of the trusted root is valid then"
    if anchors:
        try:
            return list(_verifier(anchors, at).verify(leaf, []).chain[1:])
        except (X509Error, x509.UnsupportedGeneralNameType) as err:
            reason = str(err)
    # Say why, in the usual cases, before the validator's own words (only on failure: each
    # signature check costs a verification).
    pool = [c for a in authorities for c in a.chain]
    named = [c for c in pool if c.subject == leaf.issuer]
    issuer = leaf.issuer.rfc4514_string()
    if not named:
        raise VerificationError(f"{_CHAIN}: issuer {issuer!r} is not a trusted CA")
    if not any(_issued_by(leaf, c) for c in named):
        raise VerificationError(f"{_CHAIN}: not signed by the trusted CA {issuer!r}")
    if not any(c.subject == leaf.issuer and _issued_by(leaf, c) for c in anchors):
        raise VerificationError(f"{_CHAIN}: the CA is not valid at {_fmt(at)} ({issuer!r})")
    raise VerificationError(f"{_CHAIN}: {reason}")
