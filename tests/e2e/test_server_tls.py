"""`server start --tls-cert/--tls-key`: the CLI pushes over HTTPS, responses carry HSTS, and
the data dir and everything in it stay owner-only (issue 15). The certificate is made here, by
a throw-away CA that the CLI trusts through SSL_CERT_FILE."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.e2e.conftest import CLI, Cli, _base_env, _free_port, init_server
from tests.e2e.test_attestation_flow import _craft, _setup_workflow

pytestmark = pytest.mark.e2e


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _make_certificates(out: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("chainproof test CA"))
        .issuer_name(_name("chainproof test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = out / "ca.pem", out / "server.pem", out / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _loose_entries(root: Path) -> list[str]:
    """Everything under ``root`` (and itself) that anyone but its owner can use."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode & 0o077 or (path.is_file() and mode != want):
            loose.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return loose


@pytest.fixture
def certificates(tmp_path: Path) -> tuple[Path, Path, Path]:
    return _make_certificates(tmp_path)


def _start_tls(
    data_dir: Path, env: dict[str, str], cert: Path, key: Path, ca: Path, log: Path
) -> Iterator[str]:
    port = _free_port()
    args = ["--tls-cert", str(cert), "--tls-key", str(key)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [CLI, "server", "start", "--data-dir", str(data_dir), "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"https://127.0.0.1:{port}"
        trusted = ssl.create_default_context(cafile=str(ca))
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", verify=trusted, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(log.read_text())
            time.sleep(0.1)
        try:
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_https_with_hsts_and_an_owner_only_data_dir(
    tmp_path: Path, certificates: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = certificates
    data_dir = tmp_path / "data"
    env = _base_env(tmp_path)
    token = str(init_server(data_dir, env)["token"])
    assert _loose_entries(data_dir) == []
    # A data dir made by an older version: readable by others. The server tightens it.
    data_dir.chmod(0o755)
    (data_dir / "chainproof.db").chmod(0o644)

    server = _start_tls(data_dir, env, cert, key, ca, tmp_path / "server.log")
    url = next(server)
    try:
        trusted = ssl.create_default_context(cafile=str(ca))
        reply = httpx.get(f"{url}/api/v1/projects", verify=trusted, timeout=10)
        assert reply.headers["strict-transport-security"] == "max-age=31536000"

        cli = Cli(env={**_base_env(tmp_path), "CHAINPROOF_URL": url}, cwd=tmp_path)
        untrusted = cli("project", "list", token=token, check=False)
        assert untrusted.returncode == 4, untrusted.stderr
        assert "certificate" in untrusted.stderr.lower()

        # The CLI trusts the test CA the standard way (httpx honours SSL_CERT_FILE).
        cli.env["SSL_CERT_FILE"] = str(ca)
        cli.env["CHAINPROOF_TOKEN"] = token
        robot = _setup_workflow(cli, "tlsp")
        _craft(cli, robot, "tlsp")  # uploads the SBOM to the CAS, over HTTPS too
        pushed = cli("attestation", "push", token=robot)
        assert f"{url}/api/v1/runs/" in pushed.stdout
    finally:
        next(server, None)
    blobs = [p for p in (data_dir / "cas").rglob("*") if p.is_file()]
    assert blobs, "the push stored no blob in the embedded CAS"
    assert _loose_entries(data_dir) == []
