"""Keyless signing: the organisation CA certifies an ephemeral key for one run."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from chainproof.core.bundle import Bundle
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing.ca import FULCIO_ISSUER_V2, CertificateAuthority, identity_uri
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.trust import ca_certs_from_trusted_root, trusted_root_json
from chainproof.signing.verifier import (
    ExactIdentity,
    IdentityPrefix,
    UnsafeNoIdentityCheck,
    Verifier,
)

URI = identity_uri("acme", "shop", "build", "run-1")
STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "x", "digest": {"sha256": "0" * 64}}],
    "predicateType": "https://chainproof.dev/attestation/v1",
    "predicate": {"workflow": {"runID": "run-1"}},
}


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("acme")


def _signed(ca: CertificateAuthority, **issue: object) -> Bundle:
    signer = EphemeralSigner()
    chain = ca.issue(signer.csr(URI), identity_uri=URI, **issue)  # type: ignore[arg-type]
    return signer.sign(STATEMENT, chain)


def test_identity_uri_names_org_project_workflow_and_run() -> None:
    assert URI == "chainproof://acme/shop/build/runs/run-1"


def test_issued_leaf_is_a_short_lived_code_signing_certificate(ca: CertificateAuthority) -> None:
    signer = EphemeralSigner()
    leaf_pem, ca_pem = ca.issue(signer.csr(URI), identity_uri=URI)
    leaf = x509.load_pem_x509_certificate(leaf_pem)
    assert ca_pem == ca.cert_pem
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(minutes=10)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [URI]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CODE_SIGNING]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    issuer_ext = leaf.extensions.get_extension_for_oid(FULCIO_ISSUER_V2).value
    assert issuer_ext.value.endswith(b"https://chainproof.local")  # type: ignore[attr-defined]


def test_ca_survives_a_pem_round_trip(ca: CertificateAuthority) -> None:
    again = CertificateAuthority.from_pem(ca.cert_pem, ca.key_pem)
    bundle = _signed(again)
    verified = Verifier(ca_certs=[ca.cert_pem]).verify(bundle, ExactIdentity(URI))
    assert verified.identity == URI


def test_signed_bundle_verifies(ca: CertificateAuthority) -> None:
    bundle = Bundle.from_json(_signed(ca).to_json())  # as stored and read back
    verified = Verifier(ca_certs=[ca.cert_pem]).verify(bundle, ExactIdentity(URI))
    assert verified.identity == URI
    assert verified.statement.workflow_run_id == "run-1"
    assert verified.payload_type == "application/vnd.in-toto+json"
    assert verified.certificate_der == bundle.leaf_certificate_der


def test_identity_policies(ca: CertificateAuthority) -> None:
    bundle = _signed(ca)
    verifier = Verifier(ca_certs=[ca.cert_pem])
    verifier.verify(bundle, IdentityPrefix("chainproof://acme/shop/"))
    verifier.verify(bundle, UnsafeNoIdentityCheck())
    with pytest.raises(VerificationError, match=r"identity check failed.*run-2"):
        verifier.verify(bundle, ExactIdentity(identity_uri("acme", "shop", "build", "run-2")))
    with pytest.raises(VerificationError, match="identity check failed"):
        verifier.verify(bundle, IdentityPrefix("chainproof://other/"))


def _tamper(bundle: Bundle, field: str) -> Bundle:
    data = bundle.to_dict()
    env = data["dsseEnvelope"]
    if field == "payload":
        statement = json.loads(base64.b64decode(env["payload"]))
        statement["predicate"]["workflow"]["runID"] = "run-2"
        env["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    else:
        sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
        sig[-1] ^= 1
        env["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    return Bundle.from_json(data)


@pytest.mark.parametrize("field", ["payload", "signature"])
def test_tampering_is_detected(ca: CertificateAuthority, field: str) -> None:
    bundle = _tamper(_signed(ca), field)
    with pytest.raises(VerificationError, match="signature check failed"):
        Verifier(ca_certs=[ca.cert_pem]).verify(bundle, ExactIdentity(URI))


def test_certificate_from_another_ca_is_refused(ca: CertificateAuthority) -> None:
    other = CertificateAuthority.create("evil")
    with pytest.raises(VerificationError, match="certificate chain check failed"):
        Verifier(ca_certs=[ca.cert_pem]).verify(_signed(other), ExactIdentity(URI))


def test_same_name_other_key_ca_is_refused(ca: CertificateAuthority) -> None:
    impostor = CertificateAuthority.create("acme")  # same subject, different key
    with pytest.raises(VerificationError, match="not signed by the trusted CA"):
        Verifier(ca_certs=[ca.cert_pem]).verify(_signed(impostor), ExactIdentity(URI))


def test_expired_certificate_is_refused(ca: CertificateAuthority) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    bundle = _signed(ca, now=past)
    with pytest.raises(VerificationError, match="certificate validity check failed"):
        Verifier(ca_certs=[ca.cert_pem]).verify(bundle, ExactIdentity(URI))
    # ... but verifies at a time inside its validity window
    Verifier(ca_certs=[ca.cert_pem]).verify(
        bundle, ExactIdentity(URI), now=past + timedelta(minutes=5)
    )


def test_csr_must_prove_possession(ca: CertificateAuthority) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
    )
    # Splice another key into the CSR: the signature no longer matches the key it names.
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    mine = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    theirs = other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    at = der.index(mine)
    der[at : at + len(mine)] = theirs
    forged = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(VerificationError, match="CSR signature"):
        ca.issue(forged, identity_uri=URI)
    with pytest.raises(InvalidInput, match="certificate signing request"):
        ca.issue(b"not a csr", identity_uri=URI)


def test_signer_refuses_a_certificate_for_another_key(ca: CertificateAuthority) -> None:
    chain = ca.issue(EphemeralSigner().csr(URI), identity_uri=URI)
    with pytest.raises(InvalidInput, match="another key"):
        EphemeralSigner().sign(STATEMENT, chain)


def test_trusted_root_round_trip(ca: CertificateAuthority) -> None:
    root = trusted_root_json([ca.cert_pem], start=datetime(2026, 1, 1, tzinfo=UTC))
    assert root["mediaType"] == "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    assert root["certificateAuthorities"][0]["validFor"]["start"] == "2026-01-01T00:00:00Z"
    assert ca_certs_from_trusted_root(root) == [ca.cert_pem]
