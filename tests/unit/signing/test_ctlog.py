"""Certificates with an embedded SCT (RFC 6962 precertificate flow), checked by chainproof's
SCT verifier and by sigstore-python's."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore._internal.sct import verify_sct
from sigstore._internal.trust import CTKeyring, Keyring
from sigstore.errors import VerificationError as SigstoreVerificationError
from sigstore_models.common import v1 as common_v1

from chainproof.errors import VerificationError
from chainproof.signing._keys import load_verify_key
from chainproof.signing.ca import FULCIO_ISSUER_V1, CertificateAuthority
from chainproof.signing.ctlog import CTLog
from chainproof.signing.sct import embedded_scts, verify_embedded_scts
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.trust import LogKey, TrustedRoot, Validity

URI = "chainproof://acme/p/build/runs/r1"


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _root(key: ec.EllipticCurvePrivateKey) -> TrustedRoot:
    spki = _spki(key)
    log = LogKey(
        hashlib.sha256(spki).digest(),
        load_verify_key(spki),
        "https://ct.test",
        Validity(datetime(2020, 1, 1, tzinfo=UTC)),
    )
    return TrustedRoot(ctlogs=[log])


def _sigstore_keyring(key: ec.EllipticCurvePrivateKey) -> CTKeyring:
    public = common_v1.PublicKey(
        raw_bytes=base64.b64encode(_spki(key)),
        key_details=common_v1.PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
    )
    return CTKeyring(Keyring([public]))


def _issue(ca: CertificateAuthority, log: CTLog) -> x509.Certificate:
    leaf_pem, _ = ca.issue(EphemeralSigner().csr(URI), identity_uri=URI, ct_log=log)
    return x509.load_pem_x509_certificate(leaf_pem)


def test_leaf_embeds_one_sct_that_both_verifiers_accept() -> None:
    ca = CertificateAuthority.create("acme")
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _issue(ca, CTLog(key))
    (sct,) = embedded_scts(leaf)
    assert sct.log_id == hashlib.sha256(_spki(key)).digest()
    assert verify_embedded_scts(leaf, ca.certificate, _root(key)) == 1
    verify_sct(leaf, [ca.certificate], _sigstore_keyring(key))
    # The SCT list is the last extension, where the poison was; the issuer is named twice.
    assert isinstance(leaf.extensions[-1].value, x509.PrecertificateSignedCertificateTimestamps)
    issuer = leaf.extensions.get_extension_for_oid(FULCIO_ISSUER_V1).value
    assert isinstance(issuer, x509.UnrecognizedExtension)
    assert issuer.value == b"https://chainproof.local"


def test_sct_from_another_log_or_issuer_is_refused() -> None:
    ca = CertificateAuthority.create("acme")
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    leaf = _issue(ca, CTLog(key))
    with pytest.raises(VerificationError, match=r"^SCT check failed: no SCT"):
        verify_embedded_scts(leaf, ca.certificate, _root(other))
    with pytest.raises(SigstoreVerificationError):
        verify_sct(leaf, [ca.certificate], _sigstore_keyring(other))
    # The issuer key hash is signed: the same leaf "issued" by another CA does not verify.
    impostor = CertificateAuthority.create("acme")
    with pytest.raises(VerificationError, match=r"^SCT check failed: .* does not verify"):
        verify_embedded_scts(leaf, impostor.certificate, _root(key))
