"""``attestation init/add/status/push`` through the CLI against a fake control plane.

Needs the domain modules (crafting state, statement, signers); skipped until they exist.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner, Result

from chainproof.cli._common import CliContext
from chainproof.cli.main import app
from chainproof.core.contract import Contract

CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {type: STRING, name: version}
"""


def fake_server(request: httpx.Request) -> httpx.Response:
    run = {"id": "r1", "project": "shop", "workflow": "build", "status": "initialized"}
    if request.url.path == "/api/v1/runs":
        spec = Contract.parse(CONTRACT, source="test").to_dict()
        return httpx.Response(
            201,
            json={
                "run": run,
                "workflow": {"id": "w1", "name": "build", "project": "shop"},
                "org": {"id": "o1", "name": "acme"},
                "contract": {"name": "release", "revision": 1, "latest_revision": 1, "spec": spec},
            },
        )
    if request.url.path == "/api/v1/runs/r1/attestation":
        return httpx.Response(200, json={**run, "status": "succeeded"})
    return httpx.Response(404)


def test_init_add_status_push(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "CHAINPROOF_URL": "http://cp.test",
        "CHAINPROOF_TOKEN": "cp_x",
        "CHAINPROOF_STATE_DIR": str(tmp_path),
    }

    def cli(*args: str) -> Result:
        obj = CliContext(transport=httpx.MockTransport(fake_server), backoff=0)
        return runner.invoke(app, list(args), env=env, obj=obj)

    result = cli("attestation", "init", "--workflow", "build", "--project", "shop", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["missing"] == ["material version (STRING)"]

    result = cli("attestation", "push")
    assert result.exit_code == 1
    assert "version" in result.stderr

    result = cli("attestation", "add", "--name", "version", "--value", "1.2.3", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kind"] == "STRING"

    result = cli("attestation", "status", "-o", "json")
    assert json.loads(result.stdout)["missing"] == []

    key = tmp_path / "key.pem"
    key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = cli("attestation", "push", "--key", str(key), "-o", "json")
    assert result.exit_code == 0, result.output
    pushed = json.loads(result.stdout)
    assert pushed["status"] == "succeeded"
    assert pushed["api_url"] == "http://cp.test/api/v1/runs/r1"
