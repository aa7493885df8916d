"""A bundle from the real push path, verified offline by `chainproof verify` and other tools.

The bundle is the one `attestation push --bundle FILE` writes (the server's copy, completed
with its transparency-log entry), the same as `workflow run describe -o bundle` reads back.
`chainproof verify` checks it against the organisation's trusted root (fetched from the
server, and as a file, offline) with its materials; sigstore-python's
``Verifier(trusted_root=...)`` accepts it with the root file alone (SCT, log entry with
inclusion proof and signed checkpoint, signed entry timestamp), and both refuse it with one
byte of the payload, the certificate or the inclusion proof changed. The DSSE envelope
verifies with securesystemslib.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from sigstore.errors import Error as SigstoreError
from tests.e2e.conftest import Cli, Server
from tests.e2e.test_attestation_flow import IMAGE, SBOM, _setup_workflow

from chainproof.client.verify import verify_bundle
from chainproof.errors import VerificationError
from chainproof.signing.trust import TrustedRoot


@pytest.fixture(scope="module")
def pushed(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run pushed through the real CLI: its id, bundle file, root file, materials dir."""
    from tests.e2e.conftest import cli_for

    tmp = tmp_path_factory.mktemp("interop")
    cli = cli_for(server, tmp)
    robot = _setup_workflow(cli, "interop")
    bundle = tmp / "bundle.json"
    # Two pushes: the second entry's inclusion proof has a hash to tamper with.
    for out in (tmp / "first.json", bundle):
        cli("attestation", "init", "--workflow", "build", "--project", "interop", token=robot)
        cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
        cli("attestation", "add", "--name", "image", "--value", IMAGE, token=robot)
        cli("attestation", "add", "--name", "version", "--value", "1.2.3", token=robot)
        cli("attestation", "push", "--bundle", str(out), token=robot)
    runs = cli.json("workflow", "run", "list", "--workflow", "build", "--project", "interop")
    assert isinstance(runs, list) and len(runs) == 2
    run_id = runs[0]["id"]  # newest first
    described = cli("workflow", "run", "describe", "--id", run_id, "-o", "bundle").stdout
    assert json.loads(described) == json.loads(bundle.read_text())
    root = tmp / "trusted_root.json"
    answer = httpx.get(
        f"{server.url}/api/v1/trust/root",
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=10,
    )
    answer.raise_for_status()
    root.write_text(answer.text)
    materials = tmp / "materials"
    materials.mkdir()
    shutil.copy(SBOM, materials / SBOM.name)
    return {"run_id": run_id, "bundle": bundle, "root": root, "materials": materials, "cli": cli}


def _offline(cli: Cli) -> Cli:
    """The same CLI with no control plane configured: nothing to reach, nothing to ask."""
    env = {k: v for k, v in cli.env.items() if not k.startswith("CHAINPROOF_")}
    return Cli(env=env, cwd=cli.cwd)


def test_chainproof_verify_with_the_org_root_from_the_server(pushed: dict[str, Any]) -> None:
    cli: Cli = pushed["cli"]
    identity = f"chainproof://acme/interop/build/runs/{pushed['run_id']}"
    report = cli.json(
        "verify",
        str(pushed["bundle"]),
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        "https://chainproof.local",
        "--materials",
        str(pushed["materials"]),
    )
    assert isinstance(report, dict)
    assert report["verified"] is True
    assert report["identity"] == identity
    assert report["run_id"] == pushed["run_id"]
    results = {m["name"]: m["result"] for m in report["materials"]}
    assert results["sbom"] == f"matches {SBOM.name}"
    assert results["version"] == "inline value matches"
    assert results["image"].startswith("skipped")


def test_chainproof_verify_offline_with_the_root_file(pushed: dict[str, Any]) -> None:
    offline = _offline(pushed["cli"])
    report = offline.json("verify", str(pushed["bundle"]), "--trusted-root", str(pushed["root"]))
    assert isinstance(report, dict) and report["verified"] is True
    # Without the SBOM file the materials check fails, naming the material.
    empty = pushed["materials"].parent / "empty"
    empty.mkdir(exist_ok=True)
    proc = offline(
        "verify",
        str(pushed["bundle"]),
        "--trusted-root",
        str(pushed["root"]),
        "--materials",
        str(empty),
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: materials check failed: 1 material(s)")
    assert "sbom" in proc.stderr


def test_chainproof_verify_checks_materials_through_the_cas(
    pushed: dict[str, Any], server: Server
) -> None:
    cli: Cli = pushed["cli"]
    bundle = str(pushed["bundle"])
    report = cli.json("verify", bundle, "--cas")
    assert isinstance(report, dict) and "materials" in report["checks"]
    results = {m["name"]: m["result"] for m in report["materials"]}
    assert results == {
        "sbom": "matches the CAS blob",
        "version": "inline value matches",
        "image": "skipped: a registry image, not a file",
    }
    table = cli("verify", bundle, "--cas").stdout
    assert "matches the CAS blob" in table

    # A token that reads no run referencing the SBOM learns nothing about it.
    outsider = _setup_workflow(cli, "interop-outsider")
    proc = cli("verify", bundle, "--cas", token=outsider, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "Error: materials check failed: 1 material(s) do not match the CAS: sbom"
    )

    # Stored bytes that no longer match the attested digest fail the check, naming the blob.
    sha = hashlib.sha256(SBOM.read_bytes()).hexdigest()
    stored = server.data_dir / "cas" / "sha256" / sha[:2] / sha
    original = stored.read_bytes()
    stored.write_bytes(original[:-1] + bytes([original[-1] ^ 0x01]))
    try:
        proc = cli("verify", bundle, "--cas", check=False)
    finally:
        stored.write_bytes(original)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        f"Error: materials check failed: the CAS blob sha256:{sha} does not match"
    )


def test_the_pushed_bundle_verifies_after_its_certificate_expired(
    pushed: dict[str, Any],
) -> None:
    root = TrustedRoot.from_file(pushed["root"])
    data = json.loads(pushed["bundle"].read_text())
    leaf = x509.load_der_x509_certificate(
        base64.b64decode(data["verificationMaterial"]["certificate"]["rawBytes"])
    )
    later = leaf.not_valid_after_utc + timedelta(days=1)
    report = verify_bundle(json.dumps(data), trusted_root=root, now=later)
    assert report["verified"] is True
    assert {"timestamp", "transparency log", "certificate validity"} <= set(report["checks"])

    # Without the log entry the organisation's root refuses the bundle outright...
    bare = copy.deepcopy(data)
    bare["verificationMaterial"]["tlogEntries"] = []
    bare["verificationMaterial"].pop("timestampVerificationData", None)
    with pytest.raises(VerificationError, match=r"^transparency log check failed"):
        verify_bundle(json.dumps(bare), trusted_root=root, now=later)
    # ...and under a root with no log or TSA, nothing vouches for the signing time: the
    # certificate is checked at `now`, good while it is valid, refused once it has expired.
    plain = json.loads(pushed["root"].read_text())
    plain["tlogs"], plain["timestampAuthorities"] = [], []
    no_witness = TrustedRoot.from_json(plain)
    during = leaf.not_valid_before_utc + timedelta(minutes=1)
    assert verify_bundle(json.dumps(bare), trusted_root=no_witness, now=during)["verified"]
    with pytest.raises(VerificationError, match=r"^certificate validity check failed"):
        verify_bundle(json.dumps(bare), trusted_root=no_witness, now=later)


def _changed(bundle: dict[str, Any], where: str) -> dict[str, Any]:
    """The bundle with one bit of one byte flipped in the payload, the certificate or the
    first hash of the inclusion proof."""
    data = copy.deepcopy(bundle)
    if where == "payload":
        holder, key = data["dsseEnvelope"], "payload"
    elif where == "certificate":
        holder, key = data["verificationMaterial"]["certificate"], "rawBytes"
    else:
        holder, key = data["verificationMaterial"]["tlogEntries"][0]["inclusionProof"], "hashes"
        holder = holder[key]
        key = 0  # type: ignore[assignment]
    raw = bytearray(base64.b64decode(holder[key]))
    # In the certificate, a byte of its signature: the DER still parses, the chain breaks.
    raw[-10 if where == "certificate" else len(raw) // 2] ^= 0x01
    holder[key] = base64.b64encode(bytes(raw)).decode()
    return data


WHERE = ("payload", "certificate", "inclusion proof")


@pytest.mark.parametrize(
    ("where", "check"),
    [
        ("payload", "signature check failed"),
        ("certificate", "certificate"),
        ("inclusion proof", "inclusion proof check failed"),
    ],
)
def test_one_changed_byte_is_rejected_by_chainproof(
    pushed: dict[str, Any], where: str, check: str
) -> None:
    bundle = json.loads(pushed["bundle"].read_text())
    tampered = pushed["bundle"].parent / f"tampered-{where}.json"
    tampered.write_text(json.dumps(_changed(bundle, where)))
    proc = _offline(pushed["cli"])(
        "verify", str(tampered), "--trusted-root", str(pushed["root"]), check=False
    )
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.startswith(f"Error: {check}")


def test_sigstore_python_reads_our_root_and_its_ca_issued_our_leaf(
    pushed: dict[str, Any],
) -> None:
    from sigstore.models import TrustedRoot as SigstoreRoot

    root = SigstoreRoot.from_file(str(pushed["root"]))
    cas = root.get_fulcio_certs()
    bundle = json.loads(pushed["bundle"].read_text())
    leaf = x509.load_der_x509_certificate(
        base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    )
    issuers = [ca for ca in cas if ca.subject == leaf.issuer]
    assert issuers
    issuers[0].public_key()  # a usable key
    leaf.verify_directly_issued_by(issuers[0])


def test_dsse_envelope_verifies_with_securesystemslib(pushed: dict[str, Any]) -> None:
    from securesystemslib.dsse import Envelope as SslibEnvelope
    from securesystemslib.exceptions import VerificationError as SslibError
    from securesystemslib.signer import SSlibKey

    bundle = json.loads(pushed["bundle"].read_text())
    leaf = x509.load_der_x509_certificate(
        base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    )
    key = SSlibKey.from_crypto(leaf.public_key())  # type: ignore[arg-type]

    def envelope(data: dict[str, Any]) -> SslibEnvelope:
        # securesystemslib matches signatures to keys by keyid (unsigned, so naming it
        # changes nothing signed); from_dict consumes its argument.
        data = copy.deepcopy(data)
        for sig in data["signatures"]:
            sig["keyid"] = key.keyid
        return SslibEnvelope.from_dict(data)

    assert list(envelope(bundle["dsseEnvelope"]).verify([key], 1)) == [key.keyid]
    with pytest.raises(SslibError):
        envelope(_changed(bundle, "payload")["dsseEnvelope"]).verify([key], 1)


def _sigstore_verify(pushed: dict[str, Any], bundle_json: str) -> tuple[str, bytes]:
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.models import TrustedRoot as SigstoreRoot
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    identity = f"chainproof://acme/interop/build/runs/{pushed['run_id']}"
    verifier = Verifier(trusted_root=SigstoreRoot.from_file(str(pushed["root"])))
    bundle = SigstoreBundle.from_json(bundle_json)
    return verifier.verify_dsse(
        bundle, Identity(identity=identity, issuer="https://chainproof.local")
    )


def test_sigstore_python_accepts_our_bundle_with_our_root(pushed: dict[str, Any]) -> None:
    payload_type, payload = _sigstore_verify(pushed, pushed["bundle"].read_text())
    assert payload_type == "application/vnd.in-toto+json"
    statement = json.loads(payload)
    assert statement["predicate"]["workflow"]["runID"] == pushed["run_id"]
    # The checks ran: the root names our log and CT log, the bundle carries their proofs.
    root = json.loads(pushed["root"].read_text())
    bundle = json.loads(pushed["bundle"].read_text())
    (entry,) = bundle["verificationMaterial"]["tlogEntries"]
    assert entry["logId"] == root["tlogs"][0]["logId"]
    assert entry["inclusionProof"]["checkpoint"]["envelope"].startswith("chainproof.local/acme/")
    leaf = x509.load_der_x509_certificate(
        base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    )
    (sct,) = leaf.extensions.get_extension_for_class(
        x509.PrecertificateSignedCertificateTimestamps
    ).value
    assert base64.b64encode(sct.log_id).decode() == root["ctlogs"][0]["logId"]["keyId"]


@pytest.mark.parametrize("where", WHERE)
def test_one_changed_byte_is_rejected_by_sigstore_python(
    pushed: dict[str, Any], where: str
) -> None:
    bundle = json.loads(pushed["bundle"].read_text())
    with pytest.raises(SigstoreError):
        _sigstore_verify(pushed, json.dumps(_changed(bundle, where)))
