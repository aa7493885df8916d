"""A real OCI registry behind the Docker token flow, for tests of registry authentication.

docker-registry (distribution 2.8) is started with ``auth.token``: it answers 401 with
``WWW-Authenticate: Bearer realm=..,service=..,scope=..`` and accepts only JWTs signed by the
test issuer. The issuer is a small token server on loopback: it checks HTTP basic credentials
against ``users`` and grants every action asked for in ``scope``, in an ES256 JWT carrying its
self-signed certificate in ``x5c`` (distribution verifies that chain against
``rootcertbundle``). This is the flow of Docker Hub, GHCR and Harbor.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.registry import _free_port

SERVICE = "chainproof-test-registry"
ISSUER = "chainproof-test-issuer"


def _issuer(root: Path) -> tuple[ec.EllipticCurvePrivateKey, str, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    bundle = root / "issuer.pem"
    bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return key, der, bundle


class _TokenServer(ThreadingHTTPServer):
    key: ec.EllipticCurvePrivateKey
    x5c: str
    users: dict[str, str]
    requests: list[dict[str, list[str]]]


class _TokenHandler(BaseHTTPRequestHandler):
    server: _TokenServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        self.server.requests.append(query)
        user = self._user()
        if user is None:
            self.send_response(401)
            self.end_headers()
            return
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user,
            "aud": SERVICE,
            "iat": now,
            "nbf": now - 60,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        token = jwt.encode(
            claims, self.server.key, algorithm="ES256", headers={"x5c": [self.server.x5c]}
        )
        body = json.dumps({"token": token}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.server.users.get(user) == password else None


def start_token_registry(
    root: Path, users: dict[str, str]
) -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """Run a token-auth registry under ``root``; yields its ``host:port`` and the log of
    token requests (their query parameters)."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is not installed: apt-get install docker-registry"
    key, x5c, bundle = _issuer(root)
    tokens = _TokenServer(("127.0.0.1", 0), _TokenHandler)
    tokens.key, tokens.x5c, tokens.users, tokens.requests = key, x5c, users, []
    thread = threading.Thread(target=tokens.serve_forever, daemon=True)
    thread.start()
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
        "auth:\n"
        "  token:\n"
        f"    realm: http://127.0.0.1:{tokens.server_address[1]}/token\n"
        f"    service: {SERVICE}\n"
        f"    issuer: {ISSUER}\n"
        f"    rootcertbundle: {bundle}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"http://{host}/v2/", timeout=1).status_code == 401:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "docker-registry (token auth) exited at start"
        assert time.monotonic() < deadline, "docker-registry did not answer /v2/ in 20 s"
        time.sleep(0.1)
    try:
        yield host, tokens.requests
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        tokens.shutdown()
        tokens.server_close()
