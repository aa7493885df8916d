"""The VSA and SLSA Provenance of a run pushed through the CLI, verified by `chainproof verify`.

`workflow run describe -o vsa|slsa` prints the signed bundles; `chainproof verify` accepts
them against the organisation's root with the verifier identity, and rejects a tampered one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from tests.e2e.conftest import Cli, Server, cli_for
from tests.e2e.test_attestation_flow import IMAGE, SBOM, _setup_workflow

VERIFIER = "chainproof://acme/verifier"


@pytest.fixture(scope="module")
def pushed(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run pushed through the CLI, and one reset as failed."""
    tmp = tmp_path_factory.mktemp("slsa")
    cli = cli_for(server, tmp)
    robot = _setup_workflow(cli, "slsa")
    cli("attestation", "init", "--workflow", "build", "--project", "slsa", token=robot)
    cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
    cli("attestation", "add", "--name", "image", "--value", IMAGE, token=robot)
    cli("attestation", "add", "--name", "version", "--value", "1.2.3", token=robot)
    cli("attestation", "push", token=robot)
    cli("attestation", "init", "--workflow", "build", "--project", "slsa", token=robot)
    cli("attestation", "reset", "--trigger", "failure", token=robot)
    runs = cli.json("workflow", "run", "list", "--project", "slsa")
    assert isinstance(runs, list)
    by_status = {r["status"]: r for r in runs}
    return {"cli": cli, "tmp": tmp, **by_status}


def _describe(cli: Cli, run_id: str, output: str, name: str) -> Any:
    proc = cli("workflow", "run", "describe", "--id", run_id, "-o", output, check=False)
    path = cli.cwd / name
    path.write_text(proc.stdout)
    return proc, path


def _verify(cli: Cli, path: Any, *extra: str) -> Any:
    return cli("verify", str(path), "--certificate-identity", VERIFIER, "-o", "json", *extra)


def test_vsa_verifies_against_the_org_root(pushed: dict[str, Any]) -> None:
    cli: Cli = pushed["cli"]
    run = pushed["succeeded"]
    proc, path = _describe(cli, run["id"], "vsa", "vsa.json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(_verify(cli, path).stdout)
    assert report["verified"] is True and report["identity"] == VERIFIER
    assert report["predicate_type"] == "https://slsa.dev/verification_summary/v1"
    statement = json.loads(
        base64.b64decode(json.loads(path.read_text())["dsseEnvelope"]["payload"])
    )
    predicate = statement["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1"]
    assert predicate["policy"]["uri"] == "chainproof://acme/contracts/slsa-release/revisions/1"
    algorithm, digest = run["attestation_digest"].split(":")
    assert predicate["inputAttestations"][0]["digest"] == {algorithm: digest}
    # The run's own statement subjects follow the attestation in the VSA's subjects.
    printed = cli("workflow", "run", "describe", "--id", run["id"], "-o", "statement").stdout
    attested = json.loads(printed)
    assert statement["subject"][1:] == attested["subject"]
    # The VSA's first subject is the very bundle the run stored.
    bundle = cli("workflow", "run", "describe", "--id", run["id"], "-o", "bundle").stdout
    canonical = json.dumps(json.loads(bundle), sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode()).hexdigest() == digest
    # `verify --artifact` finds the attestation among the subjects.
    _verify(cli, path, "--artifact", run["attestation_digest"])


def test_provenance_verifies_and_names_the_outputs(pushed: dict[str, Any]) -> None:
    cli: Cli = pushed["cli"]
    proc, path = _describe(cli, pushed["succeeded"]["id"], "slsa", "provenance.json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(_verify(cli, path).stdout)
    assert report["predicate_type"] == "https://slsa.dev/provenance/v1"
    # The image is the contract's only output material.
    assert report["subjects"] == [{"name": "image", "digest": {"sha256": "a" * 64}}]
    statement = json.loads(
        base64.b64decode(json.loads(path.read_text())["dsseEnvelope"]["payload"])
    )
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert sorted(d["name"] for d in deps) == ["sbom", "version"]
    sbom_sha = hashlib.sha256(SBOM.read_bytes()).hexdigest()
    assert {"sha256": sbom_sha} in [d["digest"] for d in deps]


def test_tampered_vsa_is_rejected(pushed: dict[str, Any]) -> None:
    cli: Cli = pushed["cli"]
    _, path = _describe(cli, pushed["succeeded"]["id"], "vsa", "vsa-tampered.json")
    bundle = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["verifiedLevels"] = ["SLSA_BUILD_LEVEL_3"]
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(bundle))
    proc = cli("verify", str(path), "--certificate-identity", VERIFIER, check=False)
    assert proc.returncode == 1 and "signature check failed" in proc.stderr, proc.stderr
    # The genuine VSA is not a run's attestation: a run identity does not accept it.
    _, genuine = _describe(cli, pushed["succeeded"]["id"], "vsa", "vsa.json")
    run_identity = f"chainproof://acme/slsa/build/runs/{pushed['succeeded']['id']}"
    proc = cli("verify", str(genuine), "--certificate-identity", run_identity, check=False)
    assert proc.returncode == 1 and "identity check failed" in proc.stderr, proc.stderr


def test_failed_run_has_no_vsa_and_no_provenance(pushed: dict[str, Any]) -> None:
    cli: Cli = pushed["cli"]
    run_id = pushed["failed"]["id"]
    proc, _ = _describe(cli, run_id, "slsa", "none.json")
    assert proc.returncode == 5 and "only succeeded runs have provenance" in proc.stderr
    proc, _ = _describe(cli, run_id, "vsa", "none.json")
    assert proc.returncode == 3 and "no verification summary" in proc.stderr
