"""The Sigstore-shaped trusted root of an organisation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chainproof.errors import InvalidInput
from chainproof.signing.ca import CertificateAuthority
from chainproof.signing.trust import MEDIA_TYPE, ca_certs_from_trusted_root, trusted_root_json

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def cas() -> list[CertificateAuthority]:
    return [CertificateAuthority.create("acme"), CertificateAuthority.create("acme")]


def test_trusted_root_shape(cas: list[CertificateAuthority]) -> None:
    root = trusted_root_json([c.cert_pem for c in cas], start=START)
    assert (
        root["mediaType"]
        == MEDIA_TYPE
        == ("application/vnd.dev.sigstore.trustedroot+json;version=0.1")
    )
    assert root["tlogs"] == root["ctlogs"] == root["timestampAuthorities"] == []
    first = root["certificateAuthorities"][0]
    der = cas[0].certificate.public_bytes(serialization.Encoding.DER)
    assert first == {
        "subject": {"organization": "acme", "commonName": "chainproof acme signing CA"},
        "uri": "https://chainproof.local",
        "certChain": {"certificates": [{"rawBytes": base64.b64encode(der).decode()}]},
        "validFor": {"start": "2026-01-01T00:00:00Z"},
    }
    assert len(root["certificateAuthorities"]) == 2


def test_logs_are_named_by_the_sha256_of_their_key(cas: list[CertificateAuthority]) -> None:
    import hashlib
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric import ec

    from chainproof.signing.trust import LogInstance, TrustedRoot

    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    spkis = [
        k.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for k in keys
    ]
    rotated = datetime(2026, 6, 1, tzinfo=UTC)
    root = trusted_root_json(
        [cas[0].cert_pem],
        start=START,
        tlogs=[LogInstance("https://log.test", spkis[0], START)],
        ctlogs=[
            LogInstance("https://ct.test", spkis[1], START, rotated),
            LogInstance("https://ct.test", spkis[2], rotated),
        ],
    )
    (tlog,) = root["tlogs"]
    assert tlog["logId"]["keyId"] == base64.b64encode(hashlib.sha256(spkis[0]).digest()).decode()
    assert tlog["publicKey"]["keyDetails"] == "PKIX_ECDSA_P256_SHA_256"
    assert root["ctlogs"][0]["publicKey"]["validFor"] == {
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-06-01T00:00:00Z",
    }
    parsed = TrustedRoot.from_json(root)
    found = parsed.ctlog(hashlib.sha256(spkis[1]).digest())
    assert found is not None and found.validity.end == rotated
    assert parsed.tlog(hashlib.sha256(spkis[0]).digest()) is not None


def test_round_trip(cas: list[CertificateAuthority]) -> None:
    root = trusted_root_json([c.cert_pem for c in cas], start=START, uri="https://cp.example")
    assert root["certificateAuthorities"][1]["uri"] == "https://cp.example"
    certs = ca_certs_from_trusted_root(root)
    assert certs == [c.cert_pem for c in cas]
    assert x509.load_pem_x509_certificate(certs[0]) == cas[0].certificate


@pytest.mark.parametrize(
    ("root", "needle"),
    [
        ({}, "not a trusted root"),
        ({"mediaType": MEDIA_TYPE, "certificateAuthorities": [{}]}, "malformed"),
        (
            {
                "mediaType": MEDIA_TYPE,
                "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "!"}]}}],
            },
            "base64",
        ),
        (
            {
                "mediaType": MEDIA_TYPE,
                "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "AAAA"}]}}],
            },
            "malformed",
        ),
    ],
)
def test_malformed_roots_are_refused(root: Any, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        ca_certs_from_trusted_root(root)


def test_bad_pem_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not PEM"):
        trusted_root_json([b"junk"], start=START)
