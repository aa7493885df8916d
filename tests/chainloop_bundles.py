"""Bundles signed the way a Chainloop control plane signs, by a CA made here.

The real Chainloop bundles in tests/assets/chainloop/ were signed by Chainloop's CAs; only
one of those CAs is published (chainloop-dev-ca.pem). To check the other cases (re-encoded
signatures, an impostor CA with Chainloop's name, a statement of our own choice) tests sign
with :class:`ChainloopCA`: an RSA CA with basic constraints only, issuing 10-minute leaves
with ``O=<org id>``, no SAN, code-signing EKU, as Chainloop's ``ca`` package does.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chainproof.core.dsse import pae

ASSETS = Path(__file__).resolve().parent / "assets" / "chainloop"
CHAINLOOP_CA = ASSETS / "chainloop-dev-ca.pem"
CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Some-State"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chainloop"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "chainloop"),
        x509.NameAttribute(NameOID.COMMON_NAME, "chainloop"),
    ]
)


def real_bundle(name: str) -> dict[str, Any]:
    """A real Chainloop bundle of tests/assets/chainloop/, decoded."""
    data: dict[str, Any] = json.loads((ASSETS / name).read_text())
    return data


def statement_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The in-toto statement a bundle's DSSE envelope signs."""
    data: dict[str, Any] = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return data


@dataclass
class ChainloopCA:
    """A CA shaped like Chainloop's (subject and extensions), with a key made here."""

    name: x509.Name = CA_NAME
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    not_before: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_before + timedelta(days=3650))
            .add_extension(ski, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(
        self,
        statement: dict[str, Any],
        *,
        org_id: str = "18c3f782-4936-4630-ab8d-20b511366699",
        at: datetime | None = None,
        reencode: bool = False,
    ) -> dict[str, Any]:
        """A v0.3 bundle (leaf only, no timestamp) over ``statement``, as Chainloop writes
        it; ``reencode``: the signature base64-encoded once more, as older CLIs did."""
        at = at or datetime(2025, 4, 30, 14, 4, tzinfo=UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_id)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(at)
            .not_valid_after(at + timedelta(minutes=10))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        payload = json.dumps(statement).encode()
        sig = key.sign(pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))
        if reencode:
            sig = base64.b64encode(sig)
        return {
            "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.3",
            "verificationMaterial": {
                "certificate": {
                    "rawBytes": base64.b64encode(
                        leaf.public_bytes(serialization.Encoding.DER)
                    ).decode()
                }
            },
            "dsseEnvelope": {
                "payload": base64.b64encode(payload).decode(),
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"sig": base64.b64encode(sig).decode()}],
            },
        }
