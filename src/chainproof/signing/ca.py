"""The organisation's signing CA: issues 10-minute code-signing certificates for CI runs.

A run's certificate names the run in a SAN URI (``chainproof://org/project/workflow/runs/id``)
so a verifier can tell which run signed, and carries the code-signing EKU and a Fulcio-style
issuer extension, as Sigstore verifiers expect of a keyless leaf. Given the organisation's
CT log (:class:`chainproof.signing.ctlog.CTLog`), the leaf is issued through RFC 6962's
precertificate flow and carries an embedded SCT, which sigstore-python demands
(docs/contributing.md §11).
The EKU is not critical: Fulcio's leaves have it so, and sigstore-python's path validation
(cryptography's web-PKI policy with the EKU allowed only as non-critical) refuses otherwise.

The CA key is handed out as unencrypted PKCS#8 PEM; encrypting it at rest with the server's
master key (docs/architecture.md §9) belongs to the caller and to a later issue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing import fulcio

if TYPE_CHECKING:
    from chainproof.signing.ctlog import CTLog

__all__ = [
    "CA_VALIDITY",
    "DEFAULT_ISSUER",
    "FULCIO_ISSUER_V1",
    "FULCIO_ISSUER_V2",
    "LEAF_VALIDITY",
    "CertificateAuthority",
    "identity_uri",
    "verifier_identity_uri",
]

# Fulcio's "Issuer (V2)" extension: the OIDC issuer, as a DER UTF8String; and the deprecated
# V1 one, the raw string, which Fulcio still writes and sigstore-python's Identity policy reads
# (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
FULCIO_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
FULCIO_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
DEFAULT_ISSUER = "https://chainproof.local"
CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(minutes=10)
_ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1)


def identity_uri(org: str, project: str, workflow: str, run_id: str) -> str:
    """The SAN URI a run's signing certificate carries:
    ``chainproof://{org}/{project}/{workflow}/runs/{run_id}``."""
    return f"chainproof://{org}/{project}/{workflow}/runs/{run_id}"


def org_identity_prefix(org: str) -> str:
    """What every identity ``org``'s CA certifies starts with: its runs' and its verifier's,
    ``chainproof://{org}/``."""
    return f"chainproof://{org}/"


def verifier_identity_uri(org: str) -> str:
    """The SAN URI of the control plane's own statements for ``org`` (VSAs, provenance):
    ``chainproof://{org}/verifier``. No run can get it: run certificates always name a run."""
    return f"chainproof://{org}/verifier"


def _utf8_der(text: str) -> bytes:
    """A DER UTF8String (tag 0x0C, X.690 §8.1.3 definite length) holding ``text``."""
    raw = text.encode("utf-8")
    if len(raw) < 0x80:
        length = bytes([len(raw)])
    else:
        size = len(raw).to_bytes((len(raw).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(size)]) + size
    return b"\x0c" + length + raw


class CertificateAuthority:
    """A P-256 CA key and its self-signed certificate."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self._cert = cert
        self._key = key

    @classmethod
    def create(cls, org_name: str, *, now: datetime | None = None) -> CertificateAuthority:
        """A new self-signed root for ``org_name``, valid ten years."""
        now = now or datetime.now(UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
                x509.NameAttribute(NameOID.COMMON_NAME, f"chainproof {org_name} signing CA"),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        """Load a CA from its PEM certificate and unencrypted PKCS#8 PEM key.

        Raises InvalidInput when either does not parse, the key is not EC, or the key is not
        the certificate's.
        """
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise InvalidInput(
                "cannot load the signing CA: not a PEM certificate and key"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidInput("the signing CA key must be an EC key")
        if cert.public_key() != key.public_key():
            raise InvalidInput("the signing CA key does not belong to its certificate")
        return cls(cert, key)

    @property
    def certificate(self) -> x509.Certificate:
        """The CA certificate."""
        return self._cert

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM."""
        return self._cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The CA private key, unencrypted PKCS#8 PEM (the caller protects it at rest)."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def issue(
        self,
        csr_pem: bytes,
        *,
        identity_uri: str,
        validity: timedelta = LEAF_VALIDITY,
        issuer: str = DEFAULT_ISSUER,
        now: datetime | None = None,
        ct_log: CTLog | None = None,
        extensions: Mapping[str, str] | None = None,
    ) -> list[bytes]:
        """A short-lived code-signing certificate for the CSR's key; [leaf PEM, CA PEM].

        The leaf has an empty subject and names ``identity_uri`` in a critical SAN (RFC 5280
        §4.2.1.6), the code-signing EKU, critical digitalSignature key usage, CA:false,
        SKI/AKI, and Fulcio's issuer extensions (V1 and V2) holding ``issuer``. Whatever
        identity the CSR asks for is ignored: the caller decides it. ``now`` (default: the
        current time) starts the validity window. With ``ct_log``, the leaf embeds the log's
        SCT for its precertificate (RFC 6962 §3.1), as Sigstore verifiers require.
        ``extensions`` (dotted OID → value, :func:`chainproof.signing.fulcio.extensions`) adds
        Fulcio's identity extensions of a verified CI job.

        Raises InvalidInput for a malformed CSR or a key other than ECDSA P-256/P-384,
        VerificationError when the CSR's signature does not prove possession of its key.
        """
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError:
            raise InvalidInput("not a PEM certificate signing request") from None
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, _ALLOWED_CURVES
        ):
            raise InvalidInput("the CSR key must be ECDSA P-256 or P-384")
        try:
            if not csr.is_signature_valid:
                raise VerificationError("the CSR signature does not match its key")
        except InvalidSignature:
            raise VerificationError("the CSR signature does not match its key") from None
        now = now or datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self._cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + validity)
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity_uri)]),
                critical=True,  # the subject is empty (RFC 5280 §4.2.1.6)
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.UnrecognizedExtension(FULCIO_ISSUER_V1, issuer.encode()), critical=False
            )
            .add_extension(
                x509.UnrecognizedExtension(FULCIO_ISSUER_V2, _utf8_der(issuer)), critical=False
            )
        )
        for dotted, value in sorted((extensions or {}).items()):
            raw = value.encode() if dotted in fulcio.RAW else _utf8_der(value)
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(dotted), raw), critical=False
            )
        if ct_log is None:
            leaf = builder.sign(self._key, hashes.SHA256())
        else:
            leaf = self._with_sct(builder, ct_log, now)
        return [leaf.public_bytes(serialization.Encoding.PEM), self.cert_pem]

    def _with_sct(
        self, builder: x509.CertificateBuilder, ct_log: CTLog, now: datetime
    ) -> x509.Certificate:
        """The leaf with an embedded SCT for its precertificate (RFC 6962 §3.1).

        The log signs the precertificate's TBSCertificate without its poison extension.
        Since the poison would be the last extension, that is byte for byte the
        TBSCertificate of the same builder signed without it, which is what is signed here
        (``cryptography`` only strips SCT lists, not the poison, from a TBSCertificate). The
        final certificate appends the SCT list in the poison's place; removing it again must
        give back the logged bytes.
        """
        from chainproof.signing.ctlog import sct_list_extension

        tbs = builder.sign(self._key, hashes.SHA256()).tbs_certificate_bytes
        issuer_key_hash = hashlib.sha256(
            self._key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).digest()
        sct = ct_log.sign_precertificate(tbs, issuer_key_hash, now=now)
        leaf = builder.add_extension(sct_list_extension([sct]), critical=False).sign(
            self._key, hashes.SHA256()
        )
        if leaf.tbs_precertificate_bytes != tbs:  # pragma: no cover - a broken invariant
            raise VerificationError("the certificate differs from the precertificate it logged")
        return leaf
