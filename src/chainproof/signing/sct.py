"""Signed certificate timestamps embedded in a signing certificate (RFC 6962 §3).

A Fulcio-style CA logs each leaf as a precertificate in a certificate-transparency log and
embeds the log's promise (the SCT) in the leaf. :func:`verify_embedded_scts` rebuilds the
signed structure of RFC 6962 §3.2 (``digitally-signed`` over version, signature type,
timestamp, entry type ``precert_entry``, the issuer key hash and the TBSCertificate without
the SCT extension, and the SCT's extensions) and checks it with the CT log's key from the
trusted root.
"""

from __future__ import annotations

import calendar
import hashlib
import struct
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.certificate_transparency import SignedCertificateTimestamp, Version

from chainproof.errors import VerificationError
from chainproof.signing._keys import verify_signature
from chainproof.signing.trust import TrustedRoot

__all__ = ["embedded_scts", "verify_embedded_scts"]

_CHECK = "SCT check failed"


def embedded_scts(cert: x509.Certificate) -> list[SignedCertificateTimestamp]:
    """The SCTs embedded in ``cert`` (RFC 6962 §3.3 extension), possibly none."""
    try:
        ext = cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        )
    except x509.ExtensionNotFound:
        return []
    return list(ext.value)


def _millis(moment: datetime) -> int:
    # cryptography gives the SCT time as a naive UTC datetime with millisecond precision.
    return calendar.timegm(moment.utctimetuple()) * 1000 + moment.microsecond // 1000


def _signed_data(
    sct: SignedCertificateTimestamp, cert: x509.Certificate, issuer_key_hash: bytes
) -> bytes:
    tbs: bytes = cert.tbs_precertificate_bytes
    extensions: bytes = sct.extension_bytes
    return (
        struct.pack(">BBQH", 0, 0, _millis(sct.timestamp), 1)  # v1, certificate_timestamp,
        + issuer_key_hash  # timestamp, precert_entry
        + len(tbs).to_bytes(3, "big")
        + tbs
        + len(extensions).to_bytes(2, "big")
        + extensions
    )


def verify_embedded_scts(
    cert: x509.Certificate, issuer: x509.Certificate, root: TrustedRoot
) -> int:
    """Verify the SCTs of ``cert`` (issued by ``issuer``) with the root's CT logs.

    At least one SCT must come from a CT log the root lists, and every such SCT must carry
    that log's valid signature, made while the log's key was valid. SCTs from unknown logs
    are ignored. Returns how many SCTs verified; raises VerificationError ("SCT check
    failed: ...") otherwise.
    """
    scts = embedded_scts(cert)
    if not scts:
        raise VerificationError(f"{_CHECK}: the signing certificate carries no SCT")
    issuer_key_hash = hashlib.sha256(
        issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).digest()
    verified = 0
    for sct in scts:
        log = root.ctlog(sct.log_id)
        if log is None:
            continue
        if sct.version != Version.v1:
            raise VerificationError(f"{_CHECK}: unsupported SCT version")
        if not verify_signature(log.key, sct.signature, _signed_data(sct, cert, issuer_key_hash)):
            raise VerificationError(
                f"{_CHECK}: the SCT of CT log {log.base_url or sct.log_id.hex()} does not verify"
            )
        log.check_valid_at(sct.timestamp.replace(tzinfo=UTC), "SCT")
        verified += 1
    if not verified:
        raise VerificationError(
            f"{_CHECK}: no SCT of the signing certificate comes from a CT log of the trusted root"
        )
    return verified
