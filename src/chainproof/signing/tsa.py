"""The control plane's RFC 3161 timestamp authority (docs/architecture.md §9).

:meth:`TimestampAuthority.timestamp` returns a DER ``TimeStampResp`` (RFC 3161 §2.4.2): status
granted and a ``TimeStampToken``, a CMS ``SignedData`` (RFC 5652) whose encapsulated content
is a ``TSTInfo`` with a SHA-256 message imprint of the data. That is what Sigstore bundles carry
in ``verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp`` (over
the bundle's signature bytes), and what rfc3161-client, sigstore-python and sigstore-go verify.

The authority is a P-256 self-signed root and a TSA leaf certificate with the critical
extended key usage id-kp-timeStamping alone (RFC 3161 §2.3). The root's key signs the leaf
once, at :meth:`~TimestampAuthority.create`, and is then thrown away: the TSA only ever signs
with the leaf key, and verifiers pin the whole chain through the trusted root
(``timestampAuthorities``, see :func:`chainproof.signing.trust.trusted_root_json`).

The signer info carries the signed attributes contentType, messageDigest and
signingCertificateV2 (ESSCertIDv2 with the SHA-256 of the TSA certificate, RFC 5816), and the
token includes the TSA certificate. No installed library writes a SignedData with a content
type other than id-data, so the DER is hand-written (:mod:`chainproof.signing._der`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chainproof.errors import InvalidInput
from chainproof.signing import _der

__all__ = ["TSA_POLICY", "TSA_VALIDITY", "TimestampAuthority"]

TSA_VALIDITY = timedelta(days=3650)
# NOTE: a TSTInfo must name the policy it was issued under. chainproof has no OID arc of its
# own, so it uses the default policy of Sigstore's timestamp-authority, whose tokens it imitates.
TSA_POLICY = "1.3.6.1.4.1.57264.2"

_SHA256 = "2.16.840.1.101.3.4.2.1"
_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_TST_INFO = "1.2.840.113549.1.9.16.1.4"
_ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_ATTR_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
_GRANTED = 0


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _is_tsa_leaf(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def _algorithm(dotted: str) -> bytes:
    """An AlgorithmIdentifier with absent parameters (RFC 5754 §2 for SHA-2, RFC 5758 §3.2
    for ECDSA)."""
    return _der.sequence(_der.oid(dotted))


def _attribute(dotted: str, value: bytes) -> bytes:
    return _der.sequence(_der.oid(dotted), _der.set_of([value]))


class TimestampAuthority:
    """A TSA leaf key and its chain (leaf first, root last); issues RFC 3161 responses."""

    def __init__(self, chain: Sequence[x509.Certificate], key: ec.EllipticCurvePrivateKey) -> None:
        self._chain = tuple(chain)
        self._key = key

    @classmethod
    def create(cls, name: str, *, now: datetime | None = None) -> TimestampAuthority:
        """A new authority for ``name``: a root and a TSA leaf, both valid ten years from
        ``now`` (default: the current time, backdated five minutes for clock skew)."""
        now = now or datetime.now(UTC)
        start = now - timedelta(minutes=5)
        root_key = ec.generate_private_key(ec.SECP256R1())
        key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.COMMON_NAME, f"chainproof {name} timestamp root"),
            ]
        )
        leaf_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.COMMON_NAME, f"chainproof {name} timestamp authority"),
            ]
        )
        root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
        root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + TSA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(root_ski, critical=False)
            .sign(root_key, hashes.SHA256())
        )
        leaf = (
            x509.CertificateBuilder()
            .subject_name(leaf_name)
            .issuer_name(root_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + TSA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
            # RFC 3161 §2.3: the TSA certificate has exactly this one critical key purpose.
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), False
            )
            .sign(root_key, hashes.SHA256())
        )
        return cls([leaf, root], key)

    @classmethod
    def from_pem(cls, chain_pem: list[bytes], key_pem: bytes) -> TimestampAuthority:
        """Load an authority from its PEM chain (leaf first) and unencrypted PKCS#8 PEM key.

        Raises InvalidInput when a certificate or the key does not parse, the key is not a
        P-256 key or not the leaf's, or the leaf lacks the critical timeStamping key purpose.
        """
        if not chain_pem:
            raise InvalidInput("the timestamp authority needs its certificate chain")
        try:
            chain = [x509.load_pem_x509_certificate(pem) for pem in chain_pem]
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise InvalidInput(
                "cannot load the timestamp authority: not PEM certificates and a PEM key"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise InvalidInput("the timestamp authority key must be an ECDSA P-256 key")
        if chain[0].public_key() != key.public_key():
            raise InvalidInput("the timestamp authority key does not belong to its certificate")
        if not _is_tsa_leaf(chain[0]):
            raise InvalidInput(
                "the timestamp authority certificate must have the critical extended key "
                "usage timeStamping alone (RFC 3161 §2.3)"
            )
        return cls(chain, key)

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The certificate chain, leaf first, root last."""
        return self._chain

    @property
    def chain_pem(self) -> list[bytes]:
        """The certificate chain as PEM, leaf first (what the trusted root lists)."""
        return [c.public_bytes(serialization.Encoding.PEM) for c in self._chain]

    @property
    def key_pem(self) -> bytes:
        """The TSA private key, unencrypted PKCS#8 PEM (the caller protects it at rest)."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def timestamp(self, data: bytes, *, now: datetime | None = None) -> bytes:
        """A DER TimeStampResp (granted) whose token vouches that ``data`` existed at ``now``
        (default: the current time; genTime is to the second, accuracy one second)."""
        moment = (now or datetime.now(UTC)).replace(microsecond=0)
        leaf = self._chain[0]
        leaf_der = leaf.public_bytes(serialization.Encoding.DER)
        issuer = leaf.issuer.public_bytes()
        tst_info = _der.sequence(
            _der.integer(1),
            _der.oid(TSA_POLICY),
            _der.sequence(_algorithm(_SHA256), _der.octet_string(hashlib.sha256(data).digest())),
            _der.integer(x509.random_serial_number()),
            _der.generalized_time(moment),
            _der.sequence(_der.integer(1)),  # accuracy: seconds
            # tsa [0] GeneralName: directoryName [4] (EXPLICIT, as Name is a CHOICE)
            _der.explicit(0, _der.explicit(4, leaf.subject.public_bytes())),
        )
        # RFC 5816 / RFC 5035: ESSCertIDv2 with the default hash (SHA-256, so omitted) and
        # the issuer and serial of the TSA certificate.
        ess_cert_id = _der.sequence(
            _der.octet_string(hashlib.sha256(leaf_der).digest()),
            _der.sequence(
                _der.sequence(_der.explicit(4, issuer)), _der.integer(leaf.serial_number)
            ),
        )
        attributes = [
            _attribute(_ATTR_CONTENT_TYPE, _der.oid(_TST_INFO)),
            _attribute(_ATTR_MESSAGE_DIGEST, _der.octet_string(hashlib.sha256(tst_info).digest())),
            _attribute(_ATTR_SIGNING_CERTIFICATE_V2, _der.sequence(_der.sequence(ess_cert_id))),
        ]
        # RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF;
        # the SignerInfo carries the same bytes under the [0] IMPLICIT tag.
        signed_attrs = _der.set_of(attributes)
        signature = self._key.sign(signed_attrs, ec.ECDSA(hashes.SHA256()))
        signer_info = _der.sequence(
            _der.integer(1),  # sid is issuerAndSerialNumber
            _der.sequence(issuer, _der.integer(leaf.serial_number)),
            _algorithm(_SHA256),
            _der.implicit(0, signed_attrs, constructed=True),
            _algorithm(_ECDSA_SHA256),
            _der.octet_string(signature),
        )
        signed_data = _der.sequence(
            _der.integer(3),  # eContentType is not id-data (RFC 5652 §5.1)
            _der.set_of([_algorithm(_SHA256)]),
            _der.sequence(_der.oid(_TST_INFO), _der.explicit(0, _der.octet_string(tst_info))),
            _der.set_of([leaf_der], tag=0xA0),  # certificates [0] IMPLICIT
            _der.set_of([signer_info]),
        )
        token = _der.sequence(_der.oid(_SIGNED_DATA), _der.explicit(0, signed_data))
        return _der.sequence(_der.sequence(_der.integer(_GRANTED)), token)
