"""Object-store servers for the CAS backend tests, each a stand-in for the real service.

- **S3**: ``moto_server`` (PyPI ``moto[server]``, in the ``test`` extra) speaks the S3 protocol
  over HTTP and keeps objects in memory. No real S3 server (MinIO, Garage, SeaweedFS) is
  installable here, so moto stands in for AWS S3.
- **Azure Blob**: Azurite (npm ``azurite``), Microsoft's storage emulator, stands in for Azure
  Storage. `.ci/run` installs it under /opt/azurite.

Each is started once per test session on a free 127.0.0.1 port (Azurite with its data in a
temp dir) and stopped at the end. A missing server fails the fixture with an install hint;
tests never skip.
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

#: Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_DIRS = (Path("/opt/azurite/node_modules/.bin"),)
AZURITE_HINT = "npm install --prefix /opt/azurite azurite@3 (or npm install -g azurite)"
#: Credentials moto accepts (it checks none); never real ones.
S3_KEY_ID = "chainproof-test"
S3_SECRET = "chainproof-test-secret"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_endpoint() -> str:
    """``http://127.0.0.1:<port>`` where nothing listens (a backend that is down)."""
    return f"http://127.0.0.1:{free_port()}"


def _wait_http(proc: subprocess.Popen[bytes], url: str, name: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited at start: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not answer {url} in 30 s: {log.read_text()[-2000:]}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def start_moto(workdir: Path) -> Iterator[str]:
    """Run ``moto_server`` on loopback; yields its endpoint URL."""
    assert importlib.util.find_spec("moto.server") is not None, (
        "moto_server is not installed: pip install 'moto[server]' (in the test extra)"
    )
    port = free_port()
    log = workdir / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_http(proc, f"{endpoint}/moto-api/", "moto_server", log)
        yield endpoint
    finally:
        _stop(proc)


def azurite_binary() -> str:
    """The ``azurite-blob`` executable; AssertionError with the install line when absent."""
    found = shutil.which("azurite-blob")
    if found:
        return found
    for folder in AZURITE_DIRS:
        if (folder / "azurite-blob").exists():
            return str(folder / "azurite-blob")
    raise AssertionError(f"azurite-blob is not installed: {AZURITE_HINT}")


def start_azurite(workdir: Path) -> Iterator[str]:
    """Run Azurite's blob service on loopback with its data under ``workdir``.

    Yields a connection string for the development account.
    """
    binary = azurite_binary()
    port = free_port()
    data = workdir / "data"
    data.mkdir()
    log = workdir / "azurite.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--location",
                str(data),
                "--skipApiVersionCheck",
                "--silent",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    try:
        _wait_http(proc, endpoint, "azurite-blob", log)
        yield (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
        )
    finally:
        _stop(proc)


def blob_endpoint(connection_string: str) -> str:
    """The ``BlobEndpoint`` of an Azurite connection string."""
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if part)
    return fields["BlobEndpoint"]


def pseudo_random(size: int, *, seed: int = 0, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """``size`` reproducible bytes in ``chunk``-sized pieces, generated as they are consumed."""
    rng = random.Random(seed)
    left = size
    while left:
        n = min(left, chunk)
        left -= n
        yield rng.randbytes(n)
