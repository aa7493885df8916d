"""The organisation's certificate-transparency log: signs SCTs for precertificates.

RFC 6962 §3.1-3.3. The log signs an SCT over ``issuer key hash || the precertificate's
TBSCertificate without its poison extension``, and the CA issues the final certificate with
the SCT list extension where the poison was: same serial, same extensions in the same
order, so that removing the SCT list from the final certificate gives back exactly the bytes
the log signed (:meth:`chainproof.signing.ca.CertificateAuthority.issue`). That is what
:mod:`chainproof.signing.sct` and sigstore-python verify.

Hand-written encoding: ``cryptography`` parses SCTs but has no public constructor for them,
so the TLS ``SignedCertificateTimestamp`` structure, the ``SignedCertificateTimestampList``
and the DER OCTET STRING around it are written here and added as an
``UnrecognizedExtension``; ``cryptography`` reads them back as
``PrecertificateSignedCertificateTimestamps``.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID

__all__ = ["CTLog", "sct_list_extension"]

_SCT_V1 = 0
_CERTIFICATE_TIMESTAMP = 0  # SignatureType.certificate_timestamp
_PRECERT_ENTRY = 1  # LogEntryType.precert_entry
_SHA256 = 4  # TLS HashAlgorithm.sha256
_ECDSA = 3  # TLS SignatureAlgorithm.ecdsa


def _der_octet_string(data: bytes) -> bytes:
    if len(data) < 0x80:
        length = bytes([len(data)])
    else:
        size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(size)]) + size
    return b"\x04" + length + data


def _millis(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class CTLog:
    """A CT log that signs SCTs with an ECDSA P-256 key; its log ID is SHA-256 of the
    key's SubjectPublicKeyInfo (RFC 6962 §3.2), as Sigstore trusted roots name it."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.log_id = hashlib.sha256(spki).digest()

    def sign_precertificate(
        self, tbs_precertificate: bytes, issuer_key_hash: bytes, *, now: datetime | None = None
    ) -> bytes:
        """A serialised SCT (TLS encoding, RFC 6962 §3.2) for a precertificate.

        ``tbs_precertificate`` is the precertificate's TBSCertificate without the poison
        (``cryptography``'s ``tbs_precertificate_bytes``); ``issuer_key_hash`` is SHA-256 of
        the issuing CA's SubjectPublicKeyInfo.
        """
        if len(issuer_key_hash) != 32:
            raise ValueError("the issuer key hash is 32 bytes")
        timestamp = _millis(now or datetime.now(UTC))
        extensions = b""
        signed = (
            struct.pack(">BBQH", _SCT_V1, _CERTIFICATE_TIMESTAMP, timestamp, _PRECERT_ENTRY)
            + issuer_key_hash
            + len(tbs_precertificate).to_bytes(3, "big")
            + tbs_precertificate
            + struct.pack(">H", len(extensions))
            + extensions
        )
        signature = self._key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (
            struct.pack(">B", _SCT_V1)
            + self.log_id
            + struct.pack(">Q", timestamp)
            + struct.pack(">H", len(extensions))
            + extensions
            + struct.pack(">BBH", _SHA256, _ECDSA, len(signature))
            + signature
        )


def sct_list_extension(scts: list[bytes]) -> x509.UnrecognizedExtension:
    """The RFC 6962 §3.3 embedded-SCT extension holding serialised ``scts``."""
    items = b"".join(struct.pack(">H", len(s)) + s for s in scts)
    tls_list = struct.pack(">H", len(items)) + items
    return x509.UnrecognizedExtension(
        ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, _der_octet_string(tls_list)
    )
