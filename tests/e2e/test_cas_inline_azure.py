"""CAS from the installed CLI, continued: an Azure Blob backend (Azurite, Microsoft's emulator,
a stand-in for Azure Storage) as the organisation's default, end to end; the ``inline``
backend that embeds small files in the attestation; run-less uploads downloadable by their
uploader; and a server whose operator restricts backend endpoints."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cas_servers import blob_endpoint
from tests.e2e.conftest import Cli, Server, cli_for, start_server


def _attest(cli: Cli, project: str, evidence: Path) -> str:
    """init, add ``evidence`` as material ``blob``, push; the run's id."""
    cli("attestation", "init", "--workflow", "build", "--project", project)
    cli("attestation", "add", "--name", "blob", "--kind", "ARTIFACT", "--value", str(evidence))
    cli("attestation", "push")
    runs = cli.json("workflow", "run", "list", "--project", project)
    assert isinstance(runs, list) and runs[0]["status"] == "succeeded"
    return str(runs[0]["id"])


def _material(cli: Cli, run_id: str) -> dict[str, object]:
    described = cli.json("workflow", "run", "describe", "--id", run_id)
    assert isinstance(described, dict)
    (material,) = [m for m in described["materials"] if m["name"] == "blob"]
    return dict(material)


def test_azure_blob_default_backend(cli: Cli, azurite: str, tmp_path: Path) -> None:
    from azure.storage.blob import BlobServiceClient

    container = "chainproof-e2e"
    service = BlobServiceClient.from_connection_string(azurite)
    service.create_container(container)
    added = cli(
        "cas-backend",
        "add",
        "azure-blob",
        "--name",
        "azure",
        "--container",
        container,
        "--prefix",
        "acme/",
        "-o",
        "json",
        CHAINPROOF_CAS_CONNECTION_STRING=azurite,
    )
    key = azurite.split("AccountKey=")[1].split(";")[0]
    assert key not in added.stdout and key not in added.stderr
    assert json.loads(added.stdout)["status"] == "ok"
    validated = cli.json("cas-backend", "validate", "--name", "azure")
    assert isinstance(validated, dict) and validated["status"] == "ok"
    made_default = cli.json("cas-backend", "update", "--name", "azure", "--default")
    assert isinstance(made_default, dict) and made_default["default"] is True

    content = b"evidence that must live in Azure Blob Storage\n" * 200
    evidence = tmp_path / "azure-evidence.bin"
    evidence.write_bytes(content)
    run_id = _attest(cli, "azure", evidence)
    material = _material(cli, run_id)
    assert material["uploaded"] is True and material["cas_backend"] == "azure"
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    blob = service.get_blob_client(container, f"acme/sha256/{digest[7:]}")
    assert blob.download_blob().readall() == content
    out = tmp_path / "back.bin"
    cli("artifact", "download", digest, "--to", str(out))
    assert out.read_bytes() == content
    # The account key also works in place of the connection string (endpoint + key).
    rotated = cli(
        "cas-backend",
        "add",
        "azure-blob",
        "--name",
        "azure-key",
        "--container",
        container,
        "--account-url",
        blob_endpoint(azurite),
        "-o",
        "json",
        CHAINPROOF_CAS_ACCOUNT_KEY=key,
    )
    assert json.loads(rotated.stdout)["status"] == "ok"


def test_inline_backend_embeds_small_files(cli: Cli, server: Server, tmp_path: Path) -> None:
    added = cli.json("cas-backend", "add", "inline", "--name", "small", "--max-size", "1KB")
    assert isinstance(added, dict) and added["provider"] == "inline"
    assert added["status"] == "ok" and added["max_blob_size"] == 1000
    cli("cas-backend", "update", "--name", "small", "--default")

    content = b'{"note": "a small document held in the attestation"}\n'
    evidence = tmp_path / "small.json"
    evidence.write_bytes(content)
    run_id = _attest(cli, "inline", evidence)
    material = _material(cli, run_id)
    assert material["inline"] is True and material["uploaded"] is False
    assert material["value"] is None
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    # Nothing went to the embedded store: the bytes are in the signed statement.
    assert not list((server.data_dir / "cas").rglob(digest[7:]))
    shown = cli("workflow", "run", "describe", "--id", run_id, "-o", "statement")
    statement = json.loads(shown.stdout)
    (item,) = [m for m in statement["predicate"]["materials"] if m["name"] == "blob"]
    assert base64.b64decode(item["content"]) == content
    assert item["annotations"]["chainproof.material.inline"] == "true"
    assert item["annotations"]["chainproof.material.cas"] == "false"
    out = tmp_path / "back.json"
    cli("artifact", "download", digest, "--to", str(out))
    assert out.read_bytes() == content
    # Same rule as every download: a robot that cannot read the run gets "not found".
    cli("project", "create", "--name", "elsewhere")
    robot = cli.json("api-token", "create", "--name", "elsewhere-ci", "--project", "elsewhere")
    assert isinstance(robot, dict)
    hidden = cli(
        "artifact", "download", digest, "--to", str(tmp_path / "hidden.json"),
        token=robot["token"], check=False,
    )  # fmt: skip
    assert hidden.returncode == 3 and "not found" in hidden.stderr

    # Above the cap: refused before anything is sent, suggesting a real backend.
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 1001)
    cli("attestation", "init", "--workflow", "build", "--project", "inline")
    refused = cli(
        "attestation", "add", "--name", "blob", "--kind", "ARTIFACT", "--value", str(big),
        check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "inline" in refused.stderr and "at most 1000 bytes" in refused.stderr
    assert "cas-backend" in refused.stderr
    status = cli.json("attestation", "status")
    assert isinstance(status, dict)
    assert not any(m["name"] == "blob" for m in status["extra_materials"])
    cli("attestation", "reset")
    # A run-less upload has no attestation to live in.
    runless = cli("artifact", "upload", str(big), "--project", "inline", check=False)
    assert runless.returncode == 5 and "is inline" in runless.stderr
    cli("cas-backend", "update", "--name", "small", "--no-default")


def test_runless_upload_then_download(cli: Cli, tmp_path: Path) -> None:
    content = b"a release artefact uploaded outside any run\n"
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    release = tmp_path / "release.tgz"
    release.write_bytes(content)
    uploaded = cli.json("artifact", "upload", str(release))
    assert isinstance(uploaded, dict) and uploaded["digest"] == digest and uploaded["uploaded"]
    out = tmp_path / "back.tgz"
    cli("artifact", "download", digest, "--to", str(out))
    assert out.read_bytes() == content
    # Not filed under a project: robots cannot read it.
    robot = cli.json("api-token", "create", "--name", "any-ci")
    assert isinstance(robot, dict)
    denied = cli(
        "artifact", "download", digest, "--to", str(tmp_path / "denied.tgz"),
        token=robot["token"], check=False,
    )  # fmt: skip
    assert denied.returncode == 3 and "not found" in denied.stderr
    # Filed under a project: its readers may download it, the unscoped robot among them.
    cli("project", "create", "--name", "releases")
    cli("artifact", "upload", str(release), "--project", "releases")
    fetched = tmp_path / "robot.tgz"
    cli("artifact", "download", digest, "--to", str(fetched), token=robot["token"])
    assert fetched.read_bytes() == content


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose backends may only reach 10.0.0.0/8 and *.example.com."""
    yield from start_server(
        tmp_path_factory.mktemp("restricted"),
        run_expiry_seconds=600,
        extra_env={"CHAINPROOF_CAS_ALLOWED_ENDPOINTS": "10.0.0.0/8, *.example.com"},
    )


def test_endpoint_restrictions(restricted: Server, registry: str, tmp_path: Path) -> None:
    cli = cli_for(restricted, tmp_path)
    refused = cli(
        "cas-backend", "add", "oci", "--name", "local", "--repository", f"{registry}/e2e/x",
        check=False,
    )  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    assert f"endpoint {registry} is not allowed" in refused.stderr
    assert "CHAINPROOF_CAS_ALLOWED_ENDPOINTS" in refused.stderr
    metadata = cli(
        "cas-backend", "add", "s3", "--name", "meta", "--bucket", "b",
        "--endpoint", "http://169.254.169.254/", "--no-validate", check=False,
    )  # fmt: skip
    assert metadata.returncode == 3 and "cloud metadata" in metadata.stderr
    assert cli.json("cas-backend", "list") == []
