"""The whole path a user walks (issue 2), from the installed CLI against a server process."""

from __future__ import annotations

import base64
import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
from tests.e2e.conftest import Cli, Server, cli_for

ASSETS = Path(__file__).parent.parent / "assets"
CONTRACT = ASSETS / "e2e" / "contract.yaml"
SBOM = ASSETS / "materials" / "cyclonedx-1.6.json"
IMAGE = "registry.example.com/acme/build@sha256:" + "a" * 64


def _setup_workflow(cli: Cli, project: str, workflow: str = "build") -> str:
    """Admin steps: project, contract, workflow, robot token. Returns the robot token."""
    cli("project", "create", "--name", project)
    cli("workflow", "contract", "create", "--name", f"{project}-release", "-f", str(CONTRACT))
    cli(
        "workflow",
        "create",
        "--name",
        workflow,
        "--project",
        project,
        "--contract",
        f"{project}-release",
    )
    created = cli.json(
        "api-token",
        "create",
        "--name",
        f"{project}-ci",
        "--project",
        project,
        "--workflow",
        workflow,
    )
    assert isinstance(created, dict)
    return str(created["token"])


def _craft(cli: Cli, robot: str, project: str) -> None:
    cli("attestation", "init", "--workflow", "build", "--project", project, token=robot)
    cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
    cli("attestation", "add", "--name", "image", "--value", IMAGE, token=robot)
    cli("attestation", "add", "--name", "version", "--value", "1.2.3", token=robot)


def test_full_flow_contract_to_verified_run(cli: Cli, server: Server, tmp_path: Path) -> None:
    robot = _setup_workflow(cli, "p")
    _craft(cli, robot, "p")

    status = cli.json("attestation", "status", token=robot)
    assert isinstance(status, dict)
    assert status["missing"] == []

    bundle_file = tmp_path / "bundle.json"
    pushed = cli("attestation", "push", "--bundle", str(bundle_file), token=robot)
    assert "/api/v1/runs/" in pushed.stdout
    bundle = json.loads(bundle_file.read_text())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"

    runs = cli.json("workflow", "run", "list", "--workflow", "build", "--project", "p")
    assert isinstance(runs, list) and len(runs) == 1
    run = runs[0]
    assert run["status"] == "succeeded"
    assert run["id"] in pushed.stdout

    described = cli.json("workflow", "run", "describe", "--id", run["id"], "--verify")
    assert isinstance(described, dict)
    assert described["verification"]["verified"] is True  # the server's check at push
    assert described["local_verification"]["verified"] is True  # ours, against the trust root
    by_name = {m["name"]: m for m in described["materials"]}
    assert set(by_name) == {"sbom", "image", "version"}
    assert by_name["image"]["digest"] == "sha256:" + "a" * 64
    assert by_name["image"]["output"] is True
    assert by_name["version"]["value"] == "1.2.3"
    assert by_name["sbom"]["summary"]["component_count"] == 5  # 4 top-level + 1 nested
    assert by_name["sbom"]["size"] == SBOM.stat().st_size

    statement = json.loads(
        cli("workflow", "run", "describe", "--id", run["id"], "-o", "statement").stdout
    )
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicate"]["workflow"]["runID"] == run["id"]
    subjects = {s["name"]: s["digest"] for s in statement["subject"]}
    assert {"sha256": "a" * 64} in subjects.values()  # the output image is a subject

    stored = json.loads(
        cli("workflow", "run", "describe", "--id", run["id"], "-o", "bundle").stdout
    )
    assert stored == bundle

    sbom_digest = by_name["sbom"]["digest"]
    out = tmp_path / "downloaded.json"
    cli("artifact", "download", sbom_digest, "--to", str(out))
    assert out.read_bytes() == SBOM.read_bytes()


def test_reset_records_failed_run(cli: Cli) -> None:
    robot = _setup_workflow(cli, "resetp")
    cli("attestation", "init", "--workflow", "build", "--project", "resetp", token=robot)
    cli("attestation", "reset", "--trigger", "failure", "--reason", "tests failed", token=robot)
    runs = cli.json("workflow", "run", "list", "--project", "resetp")
    assert isinstance(runs, list)
    assert [(r["status"], r["reason"]) for r in runs] == [("failed", "tests failed")]


def test_unpushed_run_expires(short_expiry_server: Server, tmp_path: Path) -> None:
    cli = cli_for(short_expiry_server, tmp_path)
    robot = _setup_workflow(cli, "expirep")
    cli("attestation", "init", "--workflow", "build", "--project", "expirep", token=robot)
    deadline = time.monotonic() + 20  # a 3 s expiry, checked every 1 s
    while time.monotonic() < deadline:
        runs = cli.json("workflow", "run", "list", "--project", "expirep")
        assert isinstance(runs, list)
        if runs[0]["status"] == "expired":
            break
        time.sleep(0.5)
    assert runs[0]["status"] == "expired"


def test_init_creates_project_and_workflow_with_contract_file(cli: Cli) -> None:
    cli(
        "attestation",
        "init",
        "--workflow",
        "newwf",
        "--project",
        "newp",
        "--contract",
        str(CONTRACT),
    )
    wf = cli.json("workflow", "describe", "--name", "newwf", "--project", "newp")
    assert isinstance(wf, dict)
    status = cli.json("attestation", "status")
    assert isinstance(status, dict)
    assert any("sbom" in m for m in status["missing"])


# --- bad input: a clear message, a non-zero exit, and nothing changed ---------------------


def test_push_with_missing_material_sends_nothing(cli: Cli) -> None:
    robot = _setup_workflow(cli, "missp")
    cli("attestation", "init", "--workflow", "build", "--project", "missp", token=robot)
    cli("attestation", "add", "--name", "version", "--value", "1.0.0", token=robot)
    proc = cli("attestation", "push", token=robot, check=False)
    assert proc.returncode == 1
    assert "sbom" in proc.stderr and "image" in proc.stderr
    runs = cli.json("workflow", "run", "list", "--project", "missp")
    assert isinstance(runs, list)
    assert runs[0]["status"] == "initialized"


def test_unknown_material_name_is_refused(cli: Cli) -> None:
    robot = _setup_workflow(cli, "unknp")
    cli("attestation", "init", "--workflow", "build", "--project", "unknp", token=robot)
    proc = cli("attestation", "add", "--name", "nosuch", "--value", "x", token=robot, check=False)
    assert proc.returncode == 2
    assert "nosuch" in proc.stderr


def test_invalid_sbom_says_why(cli: Cli) -> None:
    robot = _setup_workflow(cli, "badsbom")
    cli("attestation", "init", "--workflow", "build", "--project", "badsbom", token=robot)
    bad = ASSETS / "e2e" / "not-an-sbom.json"
    proc = cli(
        "attestation", "add", "--name", "sbom", "--value", str(bad), token=robot, check=False
    )
    assert proc.returncode == 2
    assert "CycloneDX" in proc.stderr
    status = cli.json("attestation", "status", token=robot)
    assert isinstance(status, dict)
    assert any("sbom" in m for m in status["missing"])


def test_wrong_runner_is_refused(cli: Cli) -> None:
    cli("project", "create", "--name", "ghp")
    cli(
        "workflow",
        "contract",
        "create",
        "--name",
        "gh-only",
        "-f",
        str(ASSETS / "e2e" / "contract-github-only.yaml"),
    )
    cli("workflow", "create", "--name", "build", "--project", "ghp", "--contract", "gh-only")
    proc = cli("attestation", "init", "--workflow", "build", "--project", "ghp", check=False)
    assert proc.returncode == 1
    assert "GITHUB_ACTION" in proc.stderr


@pytest.mark.parametrize(
    ("asset", "needle"),
    [("contract-bad-field.yaml", "colour"), ("contract-dup-names.yaml", "version")],
)
def test_bad_contract_is_refused_with_line(cli: Cli, asset: str, needle: str) -> None:
    proc = cli(
        "workflow",
        "contract",
        "create",
        "--name",
        asset.removesuffix(".yaml"),
        "-f",
        str(ASSETS / "e2e" / asset),
        check=False,
    )
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert ":9" in proc.stderr or "line" in proc.stderr


def test_expired_revoked_and_foreign_tokens(cli: Cli, server: Server, tmp_path: Path) -> None:
    robot = _setup_workflow(cli, "tokp")
    short = cli.json("api-token", "create", "--name", "short", "--expires", "1s")
    assert isinstance(short, dict)
    time.sleep(1.5)
    proc = cli("project", "list", token=short["token"], check=False)
    assert proc.returncode == 3

    tokens = cli.json("api-token", "list")
    assert isinstance(tokens, list)
    robot_id = next(t["id"] for t in tokens if t["name"] == "tokp-ci")
    cli("api-token", "revoke", "--id", robot_id)
    proc = cli(
        "attestation", "init", "--workflow", "build", "--project", "tokp", token=robot, check=False
    )
    assert proc.returncode == 3

    other = cli.json("server", "init", "--data-dir", str(server.data_dir), "--org", "other")
    assert isinstance(other, dict)
    proc = cli(
        "workflow",
        "describe",
        "--name",
        "build",
        "--project",
        "tokp",
        token=other["token"],
        check=False,
    )
    assert proc.returncode == 3


def test_finished_run_cannot_be_pushed_again(cli: Cli) -> None:
    robot = _setup_workflow(cli, "twicep")
    _craft(cli, robot, "twicep")
    state_dir = Path(cli.env["CHAINPROOF_STATE_DIR"])
    saved = cli.cwd / "saved-state"
    shutil.copytree(state_dir, saved)
    cli("attestation", "push", token=robot)
    shutil.rmtree(state_dir)
    shutil.copytree(saved, state_dir)
    proc = cli("attestation", "push", token=robot, check=False)
    assert proc.returncode == 5
    assert "initialized" in proc.stderr or "finished" in proc.stderr or "succeeded" in proc.stderr


def test_server_rejects_bundles_that_do_not_match(cli: Cli, server: Server) -> None:
    robot = _setup_workflow(cli, "tamperp")
    _craft(cli, robot, "tamperp")
    first = cli.cwd / "first.json"
    cli("attestation", "push", "--bundle", str(first), token=robot)
    _craft(cli, robot, "tamperp")
    state = json.loads(next(Path(cli.env["CHAINPROOF_STATE_DIR"]).glob("*.json")).read_text())
    second_run = state["run_id"]
    bundle = json.loads(first.read_text())
    headers = {"Authorization": f"Bearer {robot}"}
    url = f"{server.url}/api/v1/runs/{second_run}/attestation"

    # 1. a valid bundle, but for another run: identity and statement do not match this run
    r = httpx.post(url, json={"bundle": bundle}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "verification_failed"

    # 2. the payload changed after signing: the signature no longer verifies
    env = bundle["dsseEnvelope"]
    payload = json.loads(base64.b64decode(env["payload"]))
    payload["predicate"]["workflow"]["runID"] = second_run
    env["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    r = httpx.post(url, json={"bundle": bundle}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "verification_failed"

    runs = cli.json("workflow", "run", "list", "--project", "tamperp")
    assert isinstance(runs, list)
    assert {r["id"]: r["status"] for r in runs}[second_run] == "initialized"


def test_image_tag_resolved_from_a_real_registry(cli: Cli, registry: str) -> None:
    from tests.registry import push_image

    digest = push_image(registry, "acme/build", "1.2.3", layer=b"e2e")
    robot = _setup_workflow(cli, "regp")
    cli("attestation", "init", "--workflow", "build", "--project", "regp", token=robot)
    added = cli.json(
        "attestation",
        "add",
        "--name",
        "image",
        "--value",
        f"{registry}/acme/build:1.2.3",
        token=robot,
    )
    assert isinstance(added, dict)
    assert added["digest"] == digest
    status = cli.json("attestation", "status", token=robot)
    assert isinstance(status, dict)
    image = next(m for m in status["materials"] if m["name"] == "image")
    assert image["digest"] == digest


def test_push_with_a_key_file_needs_the_key_registered(cli: Cli, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "release.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"hunter2"),
        )
    )
    pub_file = tmp_path / "release.pub"
    pub_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    robot = _setup_workflow(cli, "keyp")
    _craft(cli, robot, "keyp")
    saved = cli.cwd / "key-state"
    shutil.copytree(Path(cli.env["CHAINPROOF_STATE_DIR"]), saved)

    wrong = cli(
        "attestation",
        "push",
        "--key",
        str(key_file),
        token=robot,
        check=False,
        COSIGN_PASSWORD="nope",
    )
    assert wrong.returncode == 2 and "password" in wrong.stderr
    unregistered = cli(
        "attestation",
        "push",
        "--key",
        str(key_file),
        token=robot,
        check=False,
        COSIGN_PASSWORD="hunter2",
    )
    assert unregistered.returncode == 1 and "registered" in unregistered.stderr

    cli("signing-key", "add", "--name", "release", "-f", str(pub_file))
    shutil.rmtree(Path(cli.env["CHAINPROOF_STATE_DIR"]), ignore_errors=True)
    shutil.copytree(saved, Path(cli.env["CHAINPROOF_STATE_DIR"]))
    cli("attestation", "push", "--key", str(key_file), token=robot, COSIGN_PASSWORD="hunter2")

    runs = cli.json("workflow", "run", "list", "--project", "keyp")
    assert isinstance(runs, list) and runs[0]["status"] == "succeeded"
    described = cli.json("workflow", "run", "describe", "--id", runs[0]["id"], "--verify")
    assert isinstance(described, dict)
    assert described["verification"]["verified"] is True  # the server's check at push
    assert described["local_verification"]["verified"] is True  # ours, against the trust root
