"""The RFC 3161 timestamp authority: tokens that rfc3161-client, chainproof's verifier,
sigstore-python and OpenSSL accept, and that each of them refuses once anything is off."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import VerificationError as TsaError
from rfc3161_client import VerifierBuilder, decode_timestamp_response

from chainproof.core.bundle import Bundle
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing import _der
from chainproof.signing.ca import CertificateAuthority, identity_uri
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.timestamp import verify_timestamps
from chainproof.signing.trust import AuthorityChain, TrustedRoot, trusted_root_json
from chainproof.signing.tsa import TSA_POLICY, TimestampAuthority
from chainproof.signing.verifier import ExactIdentity, Verifier

NOW = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
DATA = b"the signature bytes of a bundle"


@pytest.fixture(scope="module")
def tsa() -> TimestampAuthority:
    return TimestampAuthority.create("acme", now=NOW - timedelta(days=1))


@pytest.fixture(scope="module")
def token(tsa: TimestampAuthority) -> bytes:
    return tsa.timestamp(DATA, now=NOW)


def _root(
    *tsas: TimestampAuthority,
    start: datetime = NOW - timedelta(days=2),
    end: datetime | None = None,
) -> dict[str, Any]:
    return trusted_root_json(
        [],
        start=start,
        timestamp_authorities=[AuthorityChain(t.chain_pem, start, end) for t in tsas],
        tsa_uri="https://tsa.example",
    )


def _rfc3161_verify(tsa: TimestampAuthority, token: bytes, data: bytes) -> bool:
    leaf, root = tsa.chain
    verifier = VerifierBuilder().tsa_certificate(leaf).add_root_certificate(root).build()
    return verifier.verify_message(decode_timestamp_response(token), data)


def _tampered(token: bytes, tsa: TimestampAuthority) -> bytes:
    """``token`` with one bit of the TSTInfo's serial number flipped."""
    serial = decode_timestamp_response(token).tst_info.serial_number
    encoded = _der.integer(serial)
    at = token.index(encoded) + len(encoded) - 1
    return token[:at] + bytes([token[at] ^ 1]) + token[at + 1 :]


# -- the authority's certificates ---------------------------------------------------------


def test_chain_is_a_root_and_a_time_stamping_leaf(tsa: TimestampAuthority) -> None:
    leaf, root = tsa.chain
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert leaf.issuer == root.subject
    leaf.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.not_valid_before_utc <= NOW <= leaf.not_valid_after_utc


def test_from_pem_round_trips(tsa: TimestampAuthority, token: bytes) -> None:
    again = TimestampAuthority.from_pem(tsa.chain_pem, tsa.key_pem)
    assert again.chain_pem == tsa.chain_pem
    assert _rfc3161_verify(tsa, again.timestamp(b"x", now=NOW), b"x")


def test_from_pem_refuses_a_foreign_key_or_a_non_tsa_certificate(tsa: TimestampAuthority) -> None:
    other = TimestampAuthority.create("other")
    with pytest.raises(InvalidInput, match="does not belong"):
        TimestampAuthority.from_pem(tsa.chain_pem, other.key_pem)
    ca = CertificateAuthority.create("acme")
    with pytest.raises(InvalidInput, match="timeStamping"):
        TimestampAuthority.from_pem([ca.cert_pem], ca.key_pem)
    with pytest.raises(InvalidInput, match="not PEM"):
        TimestampAuthority.from_pem([b"junk"], tsa.key_pem)
    with pytest.raises(InvalidInput, match="chain"):
        TimestampAuthority.from_pem([], tsa.key_pem)


# -- the token ----------------------------------------------------------------------------


def test_token_content(tsa: TimestampAuthority, token: bytes) -> None:
    response = decode_timestamp_response(token)
    assert response.status == 0
    info = response.tst_info
    assert info.version == 1
    assert info.policy == x509.ObjectIdentifier(TSA_POLICY)
    assert info.message_imprint.hash_algorithm == x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
    assert info.message_imprint.message == hashlib.sha256(DATA).digest()
    assert info.gen_time.replace(tzinfo=UTC) == NOW.replace(microsecond=0)
    assert info.accuracy.seconds == 1
    assert info.name == x509.DirectoryName(tsa.chain[0].subject)
    signed = response.signed_data
    assert signed.version == 3
    assert signed.certificates == {tsa.chain[0].public_bytes(serialization.Encoding.DER)}
    (signer,) = signed.signer_infos
    assert (signer.issuer, signer.serial_number) == (
        tsa.chain[1].subject,
        tsa.chain[0].serial_number,
    )
    # serial numbers differ between tokens
    assert decode_timestamp_response(tsa.timestamp(DATA, now=NOW)).tst_info.serial_number != (
        info.serial_number
    )


def test_token_verifies_with_rfc3161_client(tsa: TimestampAuthority, token: bytes) -> None:
    assert _rfc3161_verify(tsa, token, DATA)
    with pytest.raises(TsaError, match="Mismatch"):
        _rfc3161_verify(tsa, token, DATA + b"!")
    with pytest.raises(TsaError):
        _rfc3161_verify(tsa, _tampered(token, tsa), DATA)
    with pytest.raises(TsaError):
        _rfc3161_verify(TimestampAuthority.create("other"), token, DATA)


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "rfc3161-client-verifier"])
def test_token_verifies_with_chainproofs_timestamp_check(
    tsa: TimestampAuthority, token: bytes, fast: bool
) -> None:
    root = TrustedRoot.from_json(_root(tsa))
    assert verify_timestamps([token], DATA, root, fast=fast) == [NOW.replace(microsecond=0)]
    with pytest.raises(VerificationError, match="not a valid timestamp"):
        verify_timestamps([token], DATA + b"!", root, fast=fast)
    with pytest.raises(VerificationError, match="not a valid timestamp"):
        verify_timestamps([_tampered(token, tsa)], DATA, root, fast=fast)
    other = TrustedRoot.from_json(_root(TimestampAuthority.create("other")))
    with pytest.raises(VerificationError, match="not a valid timestamp"):
        verify_timestamps([token], DATA, other, fast=fast)
    # a rotated-out authority's tokens count only inside its window
    ended = TrustedRoot.from_json(_root(tsa, end=NOW - timedelta(hours=1)))
    with pytest.raises(VerificationError, match="outside the validity"):
        verify_timestamps([token], DATA, ended, fast=fast)


def test_fast_path_is_available_with_the_installed_rfc3161_client() -> None:
    """The fast path uses rfc3161-client's Rust core; a release that moves it would quietly
    fall back to the (slower) public Verifier, so say so here."""
    from chainproof.signing.timestamp import _rust_pkcs7_verify

    assert _rust_pkcs7_verify() is not None


def _sigstore_root(root: dict[str, Any], tmp_path: Path) -> Any:
    """sigstore-python's TrustedRoot for ``root`` plus a CA and a log key (its Verifier
    refuses a root without them)."""
    from sigstore.models import TrustedRoot as SigstoreRoot

    ca = CertificateAuthority.create("acme")
    root["certificateAuthorities"] = trusted_root_json([ca.cert_pem], start=NOW)[
        "certificateAuthorities"
    ]
    log_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = log_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    root["tlogs"] = [
        {
            "baseUrl": "https://log.example",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": base64.b64encode(spki).decode(),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            },
            "logId": {"keyId": base64.b64encode(hashlib.sha256(spki).digest()).decode()},
        }
    ]
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps(root))
    return SigstoreRoot.from_file(str(path))


def test_token_verifies_with_sigstore_python(
    tsa: TimestampAuthority, token: bytes, tmp_path: Path
) -> None:
    """sigstore-python's own timestamp check (``Verifier._verify_signed_timestamp``, the
    step ``_verify_timestamp_authority`` runs for each bundle timestamp) on our root."""
    from rfc3161_client import decode_timestamp_response as decode
    from sigstore.verify.verifier import Verifier as SigstoreVerifier

    verifier = SigstoreVerifier(trusted_root=_sigstore_root(_root(tsa), tmp_path))
    result = verifier._verify_signed_timestamp(decode(token), DATA)
    assert result is not None
    assert result.time.replace(tzinfo=UTC) == NOW.replace(microsecond=0)
    assert verifier._verify_signed_timestamp(decode(token), DATA + b"!") is None
    assert verifier._verify_signed_timestamp(decode(_tampered(token, tsa)), DATA) is None
    other = _sigstore_root(_root(TimestampAuthority.create("other")), tmp_path)
    assert (
        SigstoreVerifier(trusted_root=other)._verify_signed_timestamp(decode(token), DATA) is None
    )


# -- the trusted root ---------------------------------------------------------------------


def test_trusted_root_lists_timestamp_authorities(tsa: TimestampAuthority) -> None:
    start, end = NOW - timedelta(days=2), NOW + timedelta(days=2)
    data = _root(tsa, start=start, end=end)
    (entry,) = data["timestampAuthorities"]
    assert entry["uri"] == "https://tsa.example"
    assert entry["subject"] == {
        "organization": "acme",
        "commonName": "chainproof acme timestamp root",
    }
    assert entry["validFor"] == {"start": "2025-02-27T12:30:15Z", "end": "2025-03-03T12:30:15Z"}
    (authority,) = TrustedRoot.from_json(json.dumps(data)).timestamp_authorities
    assert authority.chain == tsa.chain
    assert authority.validity.start == start.replace(microsecond=0)
    assert authority.validity.end == end.replace(microsecond=0)
    # open-ended when in use
    (current,) = TrustedRoot.from_json(_root(tsa)).timestamp_authorities
    assert current.validity.end is None


def test_rotated_ca_keeps_its_window_in_the_trusted_root() -> None:
    old, new = CertificateAuthority.create("acme"), CertificateAuthority.create("acme")
    rotated = NOW - timedelta(hours=1)
    data = trusted_root_json(
        [AuthorityChain([old.cert_pem], NOW - timedelta(days=9), rotated), new.cert_pem],
        start=rotated,
    )
    first, second = TrustedRoot.from_json(data).certificate_authorities
    assert first.chain == (old.certificate,) and first.validity.end == rotated.replace(
        microsecond=0
    )
    assert second.chain == (new.certificate,) and second.validity.end is None
    assert data["timestampAuthorities"] == []


def test_keyless_bundle_with_a_timestamp_verifies_end_to_end(tsa: TimestampAuthority) -> None:
    """A bundle whose only signing time is our TSA's token passes chainproof's verifier."""
    ca = CertificateAuthority.create("acme", now=NOW - timedelta(days=1))
    uri = identity_uri("acme", "shop", "build", "run-1")
    signer = EphemeralSigner()
    chain = ca.issue(signer.csr(uri), identity_uri=uri, now=NOW)
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": "0" * 64}}],
        "predicateType": "https://chainproof.dev/attestation/v1",
        "predicate": {},
    }
    signed = signer.sign(statement, chain).to_dict()
    stamp = tsa.timestamp(base64.b64decode(signed["dsseEnvelope"]["signatures"][0]["sig"]), now=NOW)
    signed["verificationMaterial"]["timestampVerificationData"] = {
        "rfc3161Timestamps": [{"signedTimestamp": base64.b64encode(stamp).decode()}]
    }
    bundle = Bundle.from_json(json.dumps(signed))
    root = TrustedRoot.from_json(
        trusted_root_json(
            [ca.cert_pem],
            start=NOW - timedelta(days=1),
            timestamp_authorities=[AuthorityChain(tsa.chain_pem, NOW - timedelta(days=1))],
        )
    )
    # verified far after the certificate expired: the timestamp is the signing time
    result = Verifier(trusted_root=root).verify(
        bundle, ExactIdentity(uri), now=NOW + timedelta(days=30)
    )
    assert "timestamp" in result.checks
    other = TrustedRoot.from_json(
        trusted_root_json(
            [ca.cert_pem],
            start=NOW - timedelta(days=1),
            timestamp_authorities=[
                AuthorityChain(TimestampAuthority.create("x").chain_pem, NOW - timedelta(days=1))
            ],
        )
    )
    with pytest.raises(VerificationError, match="timestamp"):
        Verifier(trusted_root=other).verify(
            bundle, ExactIdentity(uri), now=NOW + timedelta(days=30)
        )


# -- the DER encoder ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "020100"), (127, "02017f"), (128, "02020080"), (256, "02020100"), (-128, "020180"),
     (-129, "0202ff7f")],
)  # fmt: skip
def test_der_integer(value: int, encoded: str) -> None:
    assert _der.integer(value).hex() == encoded


def test_der_oid_length_and_sets() -> None:
    # X.690 §8.19.5 example and the SHA-256 OID as every DER encoder writes it
    assert _der.oid("2.999.3").hex() == "0603883703"
    assert _der.oid("2.16.840.1.101.3.4.2.1").hex() == "0609608648016503040201"
    with pytest.raises(ValueError):
        _der.oid("1.40")
    assert _der.octet_string(b"\x00" * 200)[:3].hex() == "0481c8"
    assert _der.set_of([b"\x02\x01\x02", b"\x02\x01\x01"]).hex() == "3106020101020102"
    assert _der.generalized_time(datetime(2025, 1, 2, 3, 4, 5)) == b"\x18\x0f20250102030405Z"
