"""CAS backends from the installed CLI: an OCI registry (docker-registry) and an S3 bucket
(moto_server, a stand-in for AWS S3) become the organisation's default in turn, evidence
pushed by `attestation` lands there; and the CAS served by a separate `chainproof cas serve`
process that the control plane points clients at (CHAINPROOF_CAS_URL)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cas_servers import S3_KEY_ID, S3_SECRET, free_port
from tests.e2e.conftest import CLI, Cli, Server, _base_env, cli_for, start_server

REGISTRY_PASSWORD = "registry-pass-e2e"


def _attest(cli: Cli, project: str, content: bytes, tmp: Path) -> tuple[str, str]:
    """init, add one file, push; returns (run id, sha256 digest of the file)."""
    evidence = tmp / f"{project}-evidence.bin"
    evidence.write_bytes(content)
    cli("attestation", "init", "--workflow", "build", "--project", project)
    cli("attestation", "add", "--name", "blob", "--kind", "ARTIFACT", "--value", str(evidence))
    cli("attestation", "push")
    runs = cli.json("workflow", "run", "list", "--project", project)
    assert isinstance(runs, list) and runs[0]["status"] == "succeeded"
    return str(runs[0]["id"]), "sha256:" + hashlib.sha256(content).hexdigest()


def _material_backend(cli: Cli, run_id: str) -> str:
    described = cli.json("workflow", "run", "describe", "--id", run_id)
    assert isinstance(described, dict)
    (material,) = [m for m in described["materials"] if m["name"] == "blob"]
    assert material["uploaded"] is True
    return str(material["cas_backend"])


def _no_secret(proc: subprocess.CompletedProcess[str], *secrets: str) -> None:
    for secret in secrets:
        assert secret not in proc.stdout and secret not in proc.stderr


def test_oci_then_s3_default_backends(
    cli: Cli, server: Server, registry: str, s3_endpoint: str, tmp_path: Path
) -> None:
    import boto3

    assert cli.json("cas-backend", "list") == []
    repository = f"{registry}/e2e/evidence"
    added = cli(
        "cas-backend",
        "add",
        "oci",
        "--name",
        "registry",
        "--repository",
        repository,
        "--username",
        "ci",
        "--password-stdin",
        "--default",
        "-o",
        "json",
        stdin=REGISTRY_PASSWORD + "\n",
    )
    _no_secret(added, REGISTRY_PASSWORD)
    backend = json.loads(added.stdout)
    assert backend["status"] == "ok" and backend["default"] is True and backend["has_secret"]

    content = b"evidence that must live in the registry\n" * 100
    run_id, digest = _attest(cli, "oci", content, tmp_path)
    assert _material_backend(cli, run_id) == "registry"
    blob = httpx.get(f"http://{registry}/v2/e2e/evidence/blobs/{digest}", timeout=10)
    assert blob.status_code == 200 and blob.content == content
    # Downloaded back through the control plane's grant and the registry backend.
    out = tmp_path / "back.bin"
    cli("artifact", "download", digest, "--to", str(out))
    assert out.read_bytes() == content

    bucket = "chainproof-e2e"
    raw: Any = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )
    raw.create_bucket(Bucket=bucket)
    added = cli(
        "cas-backend",
        "add",
        "s3",
        "--name",
        "bucket",
        "--bucket",
        bucket,
        "--endpoint",
        s3_endpoint,
        "--prefix",
        "acme",
        "--access-key-id",
        S3_KEY_ID,
        "--max-size",
        "10MB",
        CHAINPROOF_CAS_SECRET_ACCESS_KEY=S3_SECRET,
    )
    _no_secret(added, S3_SECRET)
    made_default = cli("cas-backend", "update", "--name", "bucket", "--default")
    _no_secret(made_default, S3_SECRET)

    listed = cli("cas-backend", "list", "-o", "json")
    _no_secret(listed, S3_SECRET, REGISTRY_PASSWORD)
    roles = {b["name"]: (b["default"], b["max_blob_size"]) for b in json.loads(listed.stdout)}
    assert roles == {"bucket": (True, 10_000_000), "registry": (False, 100_000_000)}

    content = b"evidence that must live in the bucket\n" * 100
    run_id, digest = _attest(cli, "s3", content, tmp_path)
    assert _material_backend(cli, run_id) == "bucket"
    stored = raw.get_object(Bucket=bucket, Key=f"acme/sha256/{digest[7:]}")
    assert stored["Body"].read() == content
    missing = httpx.head(f"http://{registry}/v2/e2e/evidence/blobs/{digest}", timeout=10)
    assert missing.status_code == 404  # not in the registry any more

    # Over the bucket's limit: refused before the upload, naming the limit and the backend.
    big = tmp_path / "big.bin"
    big.write_bytes(b"z" * 11_000_000)
    cli("attestation", "init", "--workflow", "build", "--project", "s3")
    refused = cli(
        "attestation", "add", "--name", "big", "--kind", "ARTIFACT", "--value", str(big),
        check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "at most 10000000" in refused.stderr, refused.stderr
    # The CAS itself refuses an announced size over the limit before reading the body (413).
    (run,) = cli.json("workflow", "run", "list", "--project", "s3", "--status", "initialized")
    grant = httpx.post(
        f"{server.url}/api/v1/cas/tokens",
        json={"direction": "upload", "run_id": run["id"]},
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=10,
    ).json()
    assert grant["backend"] == {
        "name": "bucket", "provider": "s3", "max_blob_size": 10_000_000, "streams": False
    }  # fmt: skip
    big_digest = "sha256:" + hashlib.sha256(big.read_bytes()).hexdigest()
    with open(big, "rb") as body:
        put = httpx.put(
            f"{grant['url']}/blobs/{big_digest}",
            content=body,
            headers={
                "Authorization": f"Bearer {grant['token']}",
                "Content-Length": str(big.stat().st_size),
            },
            timeout=30,
        )
    assert put.status_code == 413 and put.json()["code"] == "too_large"
    assert "'bucket'" in put.json()["detail"] and "at most 10000000 bytes" in put.json()["detail"]
    cli("attestation", "reset")

    assert cli("cas-backend", "validate", "--name", "registry").returncode == 0
    # The registry holds evidence that runs reference: it cannot be deleted.
    kept = cli("cas-backend", "delete", "--name", "registry", check=False)
    assert kept.returncode == 5 and "holds evidence" in kept.stderr
    # Credential rotation through the environment, validated by the server.
    rotated = cli(
        "cas-backend",
        "update",
        "--name",
        "registry",
        "-o",
        "json",
        CHAINPROOF_CAS_PASSWORD="rotated-pass",
    )
    _no_secret(rotated, "rotated-pass")
    assert json.loads(rotated.stdout)["status"] == "ok"


def test_only_admins_manage_backends(cli: Cli, server: Server) -> None:
    cli("project", "create", "--name", "robots")
    robot = cli.json("api-token", "create", "--name", "robot-ci", "--project", "robots")
    assert isinstance(robot, dict)
    denied = cli("cas-backend", "list", token=str(robot["token"]), check=False)
    assert denied.returncode == 3 and "owner or admin" in denied.stderr


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(log.read_text())
        time.sleep(0.1)


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, Path]]:
    """A control plane whose CAS URL is a separate `chainproof cas serve` process.

    Yields the server, the CAS base URL and the CAS process's log file.
    """
    tmp = tmp_path_factory.mktemp("split")
    port = free_port()
    cas_url = f"http://127.0.0.1:{port}/cas/v1"
    for server in start_server(
        tmp, run_expiry_seconds=600, extra_env={"CHAINPROOF_CAS_URL": cas_url}
    ):
        log_path = tmp / "cas.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [CLI, "cas", "serve", "--data-dir", str(server.data_dir), "--port", str(port)],
                env=_base_env(tmp),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_healthy(proc, f"http://127.0.0.1:{port}/healthz", log_path)
                yield server, cas_url, log_path
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _uploaded_through(log: Path, hexdigest: str) -> bool:
    """Whether the access log shows the PUT of this blob."""
    return any(
        "PUT /cas/v1/blobs/sha256" in line and hexdigest in line and " 201 " in line
        for line in log.read_text().splitlines()
    )


def test_cas_serve_as_a_separate_process(split: tuple[Server, str, Path], tmp_path: Path) -> None:
    server, cas_url, cas_log = split
    cli = cli_for(server, tmp_path)
    server_log = server.data_dir.parent / "server.log"

    # No backend configured: the separate CAS writes to the data dir's embedded store.
    content = b"through the separate CAS process\n"
    run_id, digest = _attest(cli, "split", content, tmp_path)
    assert _material_backend(cli, run_id) == "embedded"
    hexdigest = digest[7:]
    assert (server.data_dir / "cas" / "sha256" / hexdigest[:2] / hexdigest).read_bytes() == content
    assert _uploaded_through(cas_log, hexdigest)
    assert "/cas/v1/blobs/" not in server_log.read_text()  # the control plane moved no bytes
    grant = httpx.post(
        f"{server.url}/api/v1/cas/tokens",
        json={"direction": "download", "digest": digest},
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=10,
    ).json()
    assert grant["url"] == cas_url
    out = tmp_path / "out.bin"
    cli("artifact", "download", digest, "--to", str(out))
    assert out.read_bytes() == content

    # A configured default is resolved by the CAS process from the shared database.
    cli("cas-backend", "add", "fs", "--name", "disk", "--path", "disk", "--default")
    content = b"into the fs backend, written by the CAS process\n"
    run_id, digest = _attest(cli, "split", content, tmp_path)
    assert _material_backend(cli, run_id) == "disk"
    hexdigest = digest[7:]
    disk = server.data_dir / "cas-backends" / "disk" / "sha256" / hexdigest[:2] / hexdigest
    assert disk.read_bytes() == content
    assert _uploaded_through(cas_log, hexdigest)
    cli("artifact", "download", digest, "--to", str(out), "--force")
    assert out.read_bytes() == content
