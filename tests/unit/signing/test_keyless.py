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
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    # Not critical, as in Fulcio's leaves: sigstore-python's path validation refuses a
    # critical EKU.
    assert not eku.critical and list(eku.value) == [ExtendedKeyUsageOID.CODE_SIGNING]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ski = leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert ski.digest == x509.SubjectKeyIdentifier.from_public_key(leaf.public_key()).digest
    issuer_ext = leaf.extensions.get_extension_for_oid(FULCIO_ISSUER_V2).value
    # a DER UTF8String: tag 0x0C, length, text
    assert issuer_ext.value == b"\x0c\x18https://chainproof.local"  # type: ignore[attr-defined]
    assert leaf.issuer == ca.certificate.subject


def test_ca_certificate() -> None:
    ca = CertificateAuthority.create("acme")
    cert = ca.certificate
    assert cert.subject.rfc4514_string() == "CN=chainproof acme signing CA,O=acme"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=3650)
    assert ca.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    with pytest.raises(InvalidInput, match="does not belong"):
        CertificateAuthority.from_pem(ca.cert_pem, CertificateAuthority.create("x").key_pem)
    with pytest.raises(InvalidInput, match="cannot load"):
        CertificateAuthority.from_pem(b"nope", ca.key_pem)


def test_long_issuer_uses_long_form_der_length(ca: CertificateAuthority) -> None:
    issuer = "https://" + "a" * 300
    signer = EphemeralSigner()
    leaf_pem, _ = ca.issue(signer.csr(URI), identity_uri=URI, issuer=issuer)
    leaf = x509.load_pem_x509_certificate(leaf_pem)
    raw = leaf.extensions.get_extension_for_oid(FULCIO_ISSUER_V2).value.value  # type: ignore[attr-defined]
    assert raw[:4] == b"\x0c\x82\x01\x34" and raw[4:] == issuer.encode()


def test_identity_is_decided_by_the_ca_not_the_csr(ca: CertificateAuthority) -> None:
    signer = EphemeralSigner()
    csr = signer.csr("chainproof://acme/other/wf/runs/9")
    bundle = signer.sign(STATEMENT, ca.issue(csr, identity_uri=URI))
    assert Verifier(ca_certs=[ca.cert_pem]).verify(bundle, ExactIdentity(URI)).identity == URI


def test_csr_with_an_unsupported_key_is_refused(ca: CertificateAuthority) -> None:
    key = ec.generate_private_key(ec.SECP521R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(InvalidInput, match="P-256 or P-384"):
        ca.issue(csr.public_bytes(serialization.Encoding.PEM), identity_uri=URI)


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


def test_expired_certificate_is_refused() -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    old_ca = CertificateAuthority.create("acme", now=past - timedelta(days=1))
    bundle = _signed(old_ca, now=past)
    verifier = Verifier(ca_certs=[old_ca.cert_pem])
    with pytest.raises(VerificationError, match="certificate validity check failed"):
        verifier.verify(bundle, ExactIdentity(URI))
    with pytest.raises(VerificationError, match="certificate validity check failed"):
        verifier.verify(bundle, ExactIdentity(URI), now=past - timedelta(seconds=1))
    # ... but it verifies at a time inside its validity window (later: the timestamp's)
    verifier.verify(bundle, ExactIdentity(URI), now=past + timedelta(minutes=5))


def test_ca_must_be_valid_at_signing_time(ca: CertificateAuthority) -> None:
    bundle = _signed(ca, validity=timedelta(days=4000))  # the leaf outlives its CA
    with pytest.raises(VerificationError, match="the CA is not valid"):
        Verifier(ca_certs=[ca.cert_pem]).verify(
            bundle, ExactIdentity(URI), now=datetime.now(UTC) + timedelta(days=3660)
        )


def test_rotated_cas_with_the_same_name_are_all_trusted(ca: CertificateAuthority) -> None:
    newer = CertificateAuthority.create("acme")  # same subject as ``ca``, new key
    verifier = Verifier(ca_certs=[newer.cert_pem, ca.cert_pem])
    assert verifier.verify(_signed(ca), ExactIdentity(URI)).identity == URI
    assert verifier.verify(_signed(newer), ExactIdentity(URI)).identity == URI


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


def test_wrong_payload_type_is_refused(ca: CertificateAuthority) -> None:
    data = _signed(ca).to_dict()
    data["dsseEnvelope"]["payloadType"] = "text/plain"
    with pytest.raises(VerificationError, match="payload type check failed"):
        Verifier(ca_certs=[ca.cert_pem]).verify(Bundle.from_json(data), ExactIdentity(URI))


@pytest.mark.parametrize("count", [0, 2])
def test_exactly_one_signature(ca: CertificateAuthority, count: int) -> None:
    data = _signed(ca).to_dict()
    data["dsseEnvelope"]["signatures"] = data["dsseEnvelope"]["signatures"] * count
    with pytest.raises(VerificationError, match="expected one signature"):
        Verifier(ca_certs=[ca.cert_pem]).verify(Bundle.from_json(data), ExactIdentity(URI))


def _hand_made_leaf(
    ca: CertificateAuthority, key: ec.EllipticCurvePrivateKey, *, eku: bool
) -> bytes:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(minutes=5))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(URI)]), critical=True
        )
    )
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    ca_key = serialization.load_pem_private_key(ca.key_pem, None)
    leaf = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return leaf.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("eku", [True, False])
def test_leaf_without_code_signing_eku_is_refused(ca: CertificateAuthority, eku: bool) -> None:
    from chainproof.signing.signer import sign_bundle

    key = ec.generate_private_key(ec.SECP256R1())
    leaf = x509.load_pem_x509_certificate(_hand_made_leaf(ca, key, eku=eku))
    bundle = sign_bundle(
        key, STATEMENT, certificate_der=leaf.public_bytes(serialization.Encoding.DER)
    )
    with pytest.raises(VerificationError, match="certificate usage check failed"):
        Verifier(ca_certs=[ca.cert_pem]).verify(bundle, ExactIdentity(URI))


def test_garbage_certificate_is_refused(ca: CertificateAuthority) -> None:
    data = _signed(ca).to_dict()
    data["verificationMaterial"]["certificate"]["rawBytes"] = base64.b64encode(b"junk").decode()
    with pytest.raises(VerificationError, match="not a DER certificate"):
        Verifier(ca_certs=[ca.cert_pem]).verify(Bundle.from_json(data), ExactIdentity(URI))


def test_non_statement_payload_is_refused_after_the_signature(ca: CertificateAuthority) -> None:
    signer = EphemeralSigner()
    bundle = signer.sign({"hello": "world"}, ca.issue(signer.csr(URI), identity_uri=URI))
    with pytest.raises(VerificationError, match="payload check failed"):
        Verifier(ca_certs=[ca.cert_pem]).verify(bundle, ExactIdentity(URI))


def test_signed_payload_is_the_canonical_statement(ca: CertificateAuthority) -> None:
    payload = _signed(ca).envelope.payload
    assert payload == json.dumps(STATEMENT, sort_keys=True, separators=(",", ":")).encode()


def test_verifier_refuses_bad_trust_material() -> None:
    with pytest.raises(InvalidInput, match="not PEM"):
        Verifier(ca_certs=[b"junk"])
    with pytest.raises(InvalidInput, match="PEM public key"):
        Verifier(public_keys=[b"junk"])
