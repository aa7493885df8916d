"""Chainloop's own bundles: verified against the CA they name (``verify --ca``), and refused
when that CA is not the one given (tests/assets/chainloop/README.md says where they come from)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from tests.chainloop_bundles import ASSETS, CHAINLOOP_CA, ChainloopCA, real_bundle, statement_of

from chainproof.client.verify import verify_bundle
from chainproof.core.bundle import Bundle
from chainproof.core.chainloop_predicate import read_predicate
from chainproof.errors import VerificationError
from chainproof.signing import chainloop
from chainproof.signing.trust import TrustedRoot

EMPTY = TrustedRoot.empty()


def _verify(bundle: dict[str, Any], *cas: bytes) -> dict[str, Any]:
    return verify_bundle(json.dumps(bundle), trusted_root=EMPTY, ca_pems=list(cas))


def test_a_real_chainloop_bundle_verifies_against_the_ca_it_names() -> None:
    report = _verify(real_bundle("attestation-bundle.json"), CHAINLOOP_CA.read_bytes())
    assert report["verified"] is True
    assert report["identity"] == "O=18c3f782-4936-4630-ab8d-20b511366699"
    assert report["predicate_type"] == "chainloop.dev/attestation/v0.2"
    assert report["time_source"].startswith("certificate issue time")
    assert report["checks"] == [
        "certificate validity",
        "certificate chain",
        "identity",
        "signature",
        "payload",
    ]
    section = report["chainloop"]
    assert section["workflow"] == {
        "org": "my-org",
        "project": "myproject",
        "projectVersion": "v1.0.0-rc.13",
        "projectVersionPrerelease": True,
        "name": "mywf",
        "workflowID": "95f1b597-20e1-498c-b931-fc6d7331860e",
        "runID": "e1ca13ca-9b8a-4c68-b176-0f76b219ab55",
        "contractName": "myproject-mywf",
        "contractRevision": 97,
    }
    [material] = section["materials"]
    assert material["digest"] == (
        "sha256:a87aa51698e32d770c2214ffec79eb7bdde31cdfd7f2135f81d3e958834dbda5"
    )
    assert (material["kind"], material["filename"], material["in_cas"]) == (
        "ARTIFACT",
        "bundle.json",
        True,
    )
    [evaluation] = section["policy_evaluations"]
    assert evaluation["name"] == "vulnerability-scan-present"
    assert evaluation["material"] is None  # CHAINLOOP.ATTESTATION: about the whole attestation
    assert evaluation["violations"] == ["missing SCA scan material"]


def test_the_chainloop_ca_alone_is_not_the_sigstore_profile() -> None:
    """Without --ca the leaf (no SAN, no timestamp, expired) is refused, as any other."""
    root = TrustedRoot.empty()
    with pytest.raises(VerificationError, match="certificate chain check failed"):
        verify_bundle(json.dumps(real_bundle("attestation-bundle.json")), trusted_root=root)


@pytest.mark.parametrize(
    ("name", "issuer"),
    [
        ("controlplane-bundle.json", "CN=chainloop.dev"),
        ("chainloop_attestation.sigstore.json", "CN=chainloop,O=chainloop.dev"),
    ],
)
def test_real_bundles_of_another_chainloop_ca_are_refused(name: str, issuer: str) -> None:
    bundle = real_bundle(name)
    bundle["verificationMaterial"].pop("timestampVerificationData", None)
    with pytest.raises(VerificationError, match="is not a trusted CA") as caught:
        _verify(bundle, CHAINLOOP_CA.read_bytes())
    assert issuer in caught.value.message


def test_a_real_bundle_carrying_a_timestamp_needs_its_timestamp_authority() -> None:
    with pytest.raises(VerificationError, match="lists no timestamp authority"):
        _verify(real_bundle("chainloop_attestation.sigstore.json"), CHAINLOOP_CA.read_bytes())


@pytest.mark.parametrize(
    "name", ["controlplane-bundle.json", "chainloop_attestation.sigstore.json"]
)
def test_reencoded_real_signatures_decode_to_the_der_the_leaf_key_verifies(name: str) -> None:
    bundle = Bundle.from_json(json.dumps(real_bundle(name)))
    sig = bundle.envelope.signatures[0].sig
    assert sig[:1] == b"M"  # base64 text, not DER
    leaf = x509.load_der_x509_certificate(bundle.leaf_certificate_der or b"")
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    from cryptography.hazmat.primitives import hashes

    key.verify(chainloop.signature_der(sig), bundle.envelope.pae(), ec.ECDSA(hashes.SHA256()))


def test_a_tampered_real_payload_is_refused() -> None:
    bundle = real_bundle("attestation-bundle.json")
    statement = statement_of(bundle)
    statement["predicate"]["metadata"]["project"] = "someone-else"
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(VerificationError, match="signature check failed"):
        _verify(bundle, CHAINLOOP_CA.read_bytes())


def test_an_impostor_ca_with_chainloops_name_is_refused() -> None:
    impostor = ChainloopCA()  # same subject as the real CA, another key
    bundle = impostor.sign(statement_of(real_bundle("attestation-bundle.json")))
    with pytest.raises(VerificationError, match="not issued by a trusted CA"):
        _verify(bundle, CHAINLOOP_CA.read_bytes())
    assert _verify(bundle, impostor.pem())["verified"] is True


def test_a_reencoded_signature_verifies_and_a_wrong_one_does_not() -> None:
    ca = ChainloopCA()
    statement = statement_of(real_bundle("controlplane-bundle.json"))
    good = ca.sign(statement, reencode=True)
    assert _verify(good, ca.pem())["chainloop"]["workflow"]["name"] == "test"
    other = ca.sign(statement, reencode=True)
    good["dsseEnvelope"]["signatures"] = other["dsseEnvelope"]["signatures"]
    with pytest.raises(VerificationError, match="signature check failed"):
        _verify(good, ca.pem())


def test_a_ca_not_yet_valid_at_the_certificate_time_is_refused() -> None:
    ca = ChainloopCA(not_before=datetime(2025, 6, 1, tzinfo=UTC))
    bundle = ca.sign(statement_of(real_bundle("attestation-bundle.json")))
    with pytest.raises(VerificationError, match="certificate chain check failed"):
        _verify(bundle, ca.pem())


def test_the_renderers_predicate_maps_onto_chainproofs_words() -> None:
    """Chainloop's renderer output (attestation.output.v0.2.json): every material type."""
    data = json.loads((ASSETS / "attestation.output.v0.2.json").read_text())
    mapped = read_predicate(data["predicate"], data["subject"])
    assert mapped.runner == {"type": "GITHUB_ACTION"}
    assert mapped.started_on == "2023-05-03T17:22:12.743426076Z"
    assert mapped.policy_strategy == "ADVISORY"
    by_name = {m.name: m for m in mapped.materials}
    assert by_name["build-ref"].value == "a-string"
    assert by_name["build-ref"].digest is None
    assert by_name["skynet-control-plane"].output is True
    assert by_name["skynet-control-plane"].kind == "CONTAINER_IMAGE"
    assert by_name["rootfs"].output is False
    assert by_name["rootfs"].filename == "Makefile"
    [evaluation] = mapped.policy_evaluations
    assert evaluation["material"] == "sbom"
    assert evaluation["with"] == {"limit": "5"}
    assert evaluation["reference"] == "file://policy-sbom-freshness.yaml"
    assert mapped.violations == 1


def test_materials_of_a_chainloop_predicate_are_checked_against_files(tmp_path: Path) -> None:
    ca = ChainloopCA()
    statement = statement_of(real_bundle("attestation-bundle.json"))
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "report.json").write_bytes(b'{"ok": true}')
    statement["predicate"]["materials"] = [
        {
            "annotations": {
                "chainloop.material.cas": True,
                "chainloop.material.name": "report",
                "chainloop.material.type": "EVIDENCE",
            },
            "digest": {"sha256": hashlib.sha256(b'{"ok": true}').hexdigest()},
            "name": "report.json",
        },
        {  # a value Chainloop kept inline, without a digest: filed under its bytes' SHA-256
            "annotations": {
                "chainloop.material.name": "build-ref",
                "chainloop.material.type": "STRING",
            },
            "content": base64.b64encode(b"v1.2.3").decode(),
        },
    ]
    bundle = json.dumps(ca.sign(statement))
    report = verify_bundle(bundle, trusted_root=EMPTY, ca_pems=[ca.pem()], materials_dir=evidence)
    assert report["materials"] == [
        {
            "name": "report",
            "digest": "sha256:" + hashlib.sha256(b'{"ok": true}').hexdigest(),
            "kind": "EVIDENCE",
            "result": "matches report.json",
        },
        {
            "name": "build-ref",
            "digest": "sha256:" + hashlib.sha256(b"v1.2.3").hexdigest(),
            "kind": "STRING",
            "result": "inline value matches",
        },
    ]
    assert "materials" in report["checks"]
    (evidence / "report.json").write_bytes(b'{"ok": false}')
    with pytest.raises(VerificationError, match="materials check failed: 1 material"):
        verify_bundle(bundle, trusted_root=EMPTY, ca_pems=[ca.pem()], materials_dir=evidence)
