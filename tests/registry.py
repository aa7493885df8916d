"""A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on loopback.

Started once per test session on a free 127.0.0.1 port with its storage in a temp dir, and
stopped at the end. `.ci/run` installs the package; without it the fixture fails loudly
(never skips).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_registry(root: Path, port: int | None = None) -> Iterator[str]:
    """Run a registry under ``root`` (on ``port``, default a free one); yields its
    ``host:port``. Started again on the same root and port, it serves the same blobs."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is not installed: apt-get install docker-registry"
    port = port or _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"http://{host}/v2/", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "docker-registry exited at start"
        assert time.monotonic() < deadline, "docker-registry did not answer /v2/ in 20 s"
        time.sleep(0.1)
    try:
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def push_blob(host: str, repo: str, data: bytes) -> str:
    """Monolithic blob upload (POST then PUT ?digest=); returns the digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = httpx.post(f"http://{host}/v2/{repo}/blobs/uploads/")
    assert start.status_code == 202, start.text
    location = httpx.URL(f"http://{host}").join(start.headers["Location"])
    done = httpx.put(location.copy_add_param("digest", digest), content=data)
    assert done.status_code == 201, done.text
    return digest


def push_image(host: str, repo: str, tag: str, layer: bytes = b"layer") -> str:
    """Push a one-layer OCI image under ``tag``; returns the manifest digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": push_blob(host, repo, config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": push_blob(host, repo, layer),
                "size": len(layer),
            }
        ],
    }
    body = json.dumps(manifest).encode()
    put = httpx.put(
        f"http://{host}/v2/{repo}/manifests/{tag}",
        content=body,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert put.status_code == 201, put.text
    return "sha256:" + hashlib.sha256(body).hexdigest()
