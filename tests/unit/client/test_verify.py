"""`chainproof verify` logic on chainproof's own bundles: good ones, and every bad input."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from tests.tlog_helpers import TestLog

from chainproof.client.verify import Artifact, parse_artifact, verify_bundle
from chainproof.core.bundle import Bundle
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing.ca import CertificateAuthority, identity_uri
from chainproof.signing.signer import EphemeralSigner, KeySigner
from chainproof.signing.trust import TrustedRoot, trusted_root_json

URI = identity_uri("acme", "shop", "build", "run-1")
START = datetime(2020, 1, 1, tzinfo=UTC)
ARTIFACT = b"shop binary\n"


def _statement(materials: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "shop", "digest": {"sha256": Digest.of_bytes(ARTIFACT).hex}}],
        "predicateType": "https://chainproof.dev/attestation/v1",
        "predicate": {"workflow": {"runID": "run-1"}, "materials": materials or []},
    }


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("acme", now=datetime.now(UTC) - timedelta(days=30))


@pytest.fixture(scope="module")
def log() -> TestLog:
    return TestLog()


def _root(ca: CertificateAuthority, log: TestLog | None = None) -> TrustedRoot:
    data = trusted_root_json([ca.cert_pem], start=START)
    if log is not None:
        data["tlogs"] = [log.trusted_root_entry()]
    return TrustedRoot.from_json(data)


def _signed(
    ca: CertificateAuthority, statement: dict[str, Any] | None = None, **issue: Any
) -> Bundle:
    signer = EphemeralSigner()
    chain = ca.issue(signer.csr(URI), identity_uri=URI, **issue)
    return signer.sign(statement or _statement(), chain)


def test_keyless_bundle_verifies_against_the_org_root(ca: CertificateAuthority) -> None:
    report = verify_bundle(
        _signed(ca).to_json(),
        trusted_root=_root(ca),
        identity=URI,
        artifact=Artifact(Digest.of_bytes(ARTIFACT)),
    )
    assert report["verified"] is True
    assert report["identity"] == URI
    assert report["issuer"] == "https://chainproof.local"
    assert report["run_id"] == "run-1"
    assert report["signed_at"] is None  # no timestamp, no log entry: checked at now
    assert report["checks"] == [
        "certificate validity",
        "certificate chain",
        "identity",
        "signature",
        "payload",
        "artifact",
    ]


def test_logged_bundle_verifies_with_inclusion_proof_and_set(
    ca: CertificateAuthority, log: TestLog
) -> None:
    bundle = log.append_dsse(_signed(ca))
    report = verify_bundle(bundle.to_json(), trusted_root=_root(ca, log), identity=URI)
    assert "transparency log" in report["checks"]
    assert "log entry consistency" in report["checks"]
    assert len(report["signed_at"]) == 1


def test_expired_certificate_verifies_by_its_log_time_not_without(
    ca: CertificateAuthority, log: TestLog
) -> None:
    past = datetime.now(UTC) - timedelta(days=2)
    old = _signed(ca, now=past)
    with pytest.raises(
        VerificationError,
        match=r"^certificate validity check failed: .*\(now: the bundle has no timestamp\)",
    ):
        verify_bundle(old.to_json(), trusted_root=_root(ca), identity=URI)
    logged = log.append_dsse(old, integrated_time=past + timedelta(minutes=1))
    report = verify_bundle(logged.to_json(), trusted_root=_root(ca, log), identity=URI)
    assert report["signed_at"] == [(past + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    late = log.append_dsse(old, integrated_time=past + timedelta(minutes=11))
    with pytest.raises(VerificationError, match=r"^certificate validity check failed"):
        verify_bundle(late.to_json(), trusted_root=_root(ca, log), identity=URI)


def _tamper(bundle: Bundle, edit: Any) -> str:
    data = bundle.to_dict()
    edit(data)
    return json.dumps(data)


def _entry(data: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = data["verificationMaterial"]["tlogEntries"][0]
    return entry


def test_truncated_proof_is_refused(ca: CertificateAuthority, log: TestLog) -> None:
    bundle = log.append_dsse(_signed(ca))

    def truncate(data: dict[str, Any]) -> None:
        _entry(data)["inclusionProof"]["hashes"].pop()

    with pytest.raises(VerificationError, match=r"^inclusion proof check failed: .*truncated"):
        verify_bundle(_tamper(bundle, truncate), trusted_root=_root(ca, log), identity=URI)


def test_checkpoint_from_another_log_is_refused(ca: CertificateAuthority, log: TestLog) -> None:
    bundle = log.append_dsse(_signed(ca))
    other = TestLog("other.test")

    def swap(data: dict[str, Any]) -> None:
        proof = _entry(data)["inclusionProof"]
        root = base64.b64decode(proof["rootHash"])
        proof["checkpoint"]["envelope"] = other.checkpoint(int(proof["treeSize"]), root)

    with pytest.raises(
        VerificationError, match=r"^checkpoint check failed: no signature by the log"
    ):
        verify_bundle(_tamper(bundle, swap), trusted_root=_root(ca, log), identity=URI)


def test_entry_of_an_untrusted_log_is_refused(ca: CertificateAuthority, log: TestLog) -> None:
    bundle = TestLog("rogue.test").append_dsse(_signed(ca))
    with pytest.raises(VerificationError, match=r"^transparency log check failed: .*does not list"):
        verify_bundle(bundle.to_json(), trusted_root=_root(ca, log), identity=URI)


def test_root_with_a_log_requires_an_entry(ca: CertificateAuthority, log: TestLog) -> None:
    with pytest.raises(VerificationError, match=r"^transparency log check failed: .*no log entry"):
        verify_bundle(_signed(ca).to_json(), trusted_root=_root(ca, log), identity=URI)


def test_entry_of_another_bundle_is_refused(ca: CertificateAuthority, log: TestLog) -> None:
    logged = log.append_dsse(_signed(ca))
    other = _signed(ca).to_dict()
    other["verificationMaterial"]["tlogEntries"] = logged.to_dict()["verificationMaterial"][
        "tlogEntries"
    ]
    with pytest.raises(VerificationError, match=r"^log entry consistency check failed"):
        verify_bundle(json.dumps(other), trusted_root=_root(ca, log), identity=URI)


def test_tampered_set_is_refused(ca: CertificateAuthority, log: TestLog) -> None:
    bundle = log.append_dsse(_signed(ca))

    def later(data: dict[str, Any]) -> None:
        _entry(data)["integratedTime"] = str(int(_entry(data)["integratedTime"]) + 1)

    with pytest.raises(VerificationError, match=r"^signed entry timestamp check failed"):
        verify_bundle(_tamper(bundle, later), trusted_root=_root(ca, log), identity=URI)


@pytest.mark.parametrize(
    ("text", "check"),
    [
        (b"{not json", "bundle check failed: the bundle is not JSON"),
        (b"[]", "bundle check failed: a Sigstore bundle must be a JSON object"),
        (
            b'{"mediaType": "application/json"}',
            "bundle check failed: unsupported bundle media type",
        ),
    ],
)
def test_malformed_bundles_are_refused(ca: CertificateAuthority, text: bytes, check: str) -> None:
    with pytest.raises(VerificationError, match=f"^{check}"):
        verify_bundle(text, trusted_root=_root(ca), identity=URI)


def test_wrong_media_type_is_refused(ca: CertificateAuthority) -> None:
    def retype(data: dict[str, Any]) -> None:
        data["mediaType"] = "application/vnd.dev.sigstore.bundle.v9+json"

    with pytest.raises(VerificationError, match=r"^bundle check failed: unsupported bundle media"):
        verify_bundle(_tamper(_signed(ca), retype), trusted_root=_root(ca), identity=URI)


def test_certificate_from_another_orgs_ca_is_refused(ca: CertificateAuthority) -> None:
    other = CertificateAuthority.create("globex")
    with pytest.raises(VerificationError, match=r"^certificate chain check failed: issuer"):
        verify_bundle(_signed(other).to_json(), trusted_root=_root(ca), identity=URI)


def test_same_name_impostor_ca_is_refused(ca: CertificateAuthority) -> None:
    impostor = CertificateAuthority.create("acme")
    with pytest.raises(VerificationError, match=r"^certificate chain check failed: not signed"):
        verify_bundle(_signed(impostor).to_json(), trusted_root=_root(ca), identity=URI)


@pytest.mark.parametrize("where", ["payload", "certificate"])
def test_one_changed_byte_is_refused(ca: CertificateAuthority, where: str) -> None:
    data = _signed(ca).to_dict()
    if where == "payload":
        raw = bytearray(base64.b64decode(data["dsseEnvelope"]["payload"]))
        raw[-3] ^= 0x01
        data["dsseEnvelope"]["payload"] = base64.b64encode(bytes(raw)).decode()
        pattern = "^signature check failed"
    else:
        cert = data["verificationMaterial"]["certificate"]
        raw = bytearray(base64.b64decode(cert["rawBytes"]))
        raw[len(raw) // 2] ^= 0x01
        cert["rawBytes"] = base64.b64encode(bytes(raw)).decode()
        pattern = "^certificate (chain )?check failed"
    with pytest.raises(VerificationError, match=pattern):
        verify_bundle(json.dumps(data), trusted_root=_root(ca), identity=URI)


def test_identity_and_issuer_are_checked(ca: CertificateAuthority) -> None:
    text = _signed(ca).to_json()
    with pytest.raises(VerificationError, match=r"^identity check failed: signed by"):
        verify_bundle(text, trusted_root=_root(ca), identity=URI + "x")
    with pytest.raises(VerificationError, match=r"^identity check failed: OIDC issuer"):
        verify_bundle(text, trusted_root=_root(ca), issuer="https://elsewhere")
    with pytest.raises(InvalidInput, match="certificate-identity"):
        verify_bundle(text, trusted_root=_root(ca), strict_identity=True)
    with pytest.raises(VerificationError, match=r"^key check failed: .*certificate, not a key"):
        verify_bundle(text, trusted_root=_root(ca), key_pem=ca.cert_pem)


def test_artifact_must_be_a_subject(ca: CertificateAuthority) -> None:
    with pytest.raises(VerificationError, match=r"^artifact check failed: sha256:"):
        verify_bundle(
            _signed(ca).to_json(),
            trusted_root=_root(ca),
            artifact=Artifact(Digest.of_bytes(b"something else")),
        )


def test_root_with_ct_logs_requires_an_sct(ca: CertificateAuthority) -> None:
    data = trusted_root_json([ca.cert_pem], start=START)
    data["ctlogs"] = [TestLog("ct.test").trusted_root_entry()]
    with pytest.raises(VerificationError, match=r"^SCT check failed: .*carries no SCT"):
        verify_bundle(_signed(ca).to_json(), trusted_root=TrustedRoot.from_json(data))


def test_key_signed_bundle(tmp_path: Path) -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    text = signer.sign(_statement()).to_json()
    report = verify_bundle(text, trusted_root=TrustedRoot.empty(), key_pem=signer.public_key_pem)
    assert report["identity"] == signer.hint
    assert report["checks"][:2] == ["key", "identity"]
    with pytest.raises(VerificationError, match=r"^key check failed: .*no --key"):
        verify_bundle(text, trusted_root=TrustedRoot.empty())
    other = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(VerificationError, match=r"^key check failed"):
        verify_bundle(text, trusted_root=TrustedRoot.empty(), key_pem=other.public_key_pem)


def test_materials_are_checked_against_a_directory(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    sbom = b'{"bomFormat": "CycloneDX"}'
    materials = [
        {"name": "sbom", "digest": {"sha256": Digest.of_bytes(sbom).hex}},
        {
            "name": "channel",
            "digest": {"sha256": Digest.of_bytes(b"stable").hex},
            "content": base64.b64encode(b"stable").decode(),
        },
        {
            "name": "image",
            "digest": {"sha256": "ab" * 32},
            "annotations": {"chainproof.material.kind": "CONTAINER_IMAGE"},
        },
    ]
    text = _signed(ca, _statement(materials)).to_json()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bom.json").write_bytes(sbom)
    report = verify_bundle(text, trusted_root=_root(ca), materials_dir=tmp_path)
    assert [m["result"] for m in report["materials"]] == [
        "matches sub/bom.json",
        "inline value matches",
        "skipped: a registry image, not a file",
    ]
    (tmp_path / "sub" / "bom.json").write_bytes(sbom + b" ")
    with pytest.raises(VerificationError, match=r"^materials check failed: 1 material.*: sbom"):
        verify_bundle(text, trusted_root=_root(ca), materials_dir=tmp_path)


def test_parse_artifact(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(ARTIFACT)
    assert parse_artifact(str(path)) == Artifact(Digest.of_bytes(ARTIFACT), ARTIFACT, "a.bin")
    digest = Digest.of_bytes(ARTIFACT)
    assert parse_artifact(str(digest)).digest == digest
    with pytest.raises(InvalidInput):
        parse_artifact("sha256:nothex")
    with pytest.raises(InvalidInput, match="cannot read"):
        parse_artifact(str(tmp_path / "missing"))
