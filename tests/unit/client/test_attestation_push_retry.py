"""A push interrupted after signing is finished by pushing again: the same bundle, the same
idempotency key, resent from the state file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chainproof.client import attestation
from chainproof.client.http import ApiClient
from chainproof.core.contract import Contract
from chainproof.errors import NetworkError

CONTRACT = Contract.parse(
    """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {type: STRING, name: version}
""",
    source="test",
).to_dict()
RUN = {"id": "r1", "project": "shop", "workflow": "build", "status": "initialized"}
PUSH = "/api/v1/runs/r1/attestation"


class ControlPlane:
    """Init and push; ``answers`` scripts the push: "lost" (stored, the answer never
    arrives), "unverified" (a 422 verification problem), else 200 with the stored bundle."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.pushes: list[httpx.Request] = []
        self.stored: dict[str, Any] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/runs":
            org = {"id": "o1", "name": "acme"}
            workflow = {"id": "w1", "name": "build", "project": "shop", "team": None}
            contract = {"name": "release", "revision": 1, "spec": CONTRACT}
            body = {"run": RUN, "workflow": workflow, "org": org, "contract": contract}
            return httpx.Response(201, json=body)
        assert request.url.path == PUSH, request.url.path
        self.pushes.append(request)
        answer = self.answers.pop(0) if self.answers else "ok"
        if answer == "unverified":
            problem = {"code": "verification_failed", "detail": "certificate expired"}
            headers = {"content-type": "application/problem+json"}
            return httpx.Response(422, json=problem, headers=headers)
        if self.stored is None:
            self.stored = {**json.loads(request.content)["bundle"], "stored": True}
        if answer == "lost":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response")
        return httpx.Response(200, json={**RUN, "status": "succeeded", "bundle": self.stored})


def _key(tmp_path: Path) -> Path:
    path = tmp_path / "key.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return path


def _ready(server: ControlPlane, tmp_path: Path) -> tuple[ApiClient, Path]:
    """An attestation with every material added, and a client that does not retry."""
    api = ApiClient("http://cp.test", "cp_x", retries=0, transport=httpx.MockTransport(server))
    state_file = tmp_path / "state" / attestation.STATE_FILE
    attestation.init(
        api, state_file=state_file, workflow="build", project="shop", environ={}, cwd=tmp_path
    )
    attestation.add(api, state_file, name="version", value="1.2.3")
    return api, state_file


def _sent(request: httpx.Request) -> tuple[str, dict[str, Any]]:
    return request.headers["idempotency-key"], json.loads(request.content)["bundle"]


def test_a_lost_answer_is_finished_by_resending_the_kept_bundle(tmp_path: Path) -> None:
    server = ControlPlane(["lost"])
    api, state_file = _ready(server, tmp_path)
    key = _key(tmp_path)
    with pytest.raises(NetworkError):
        attestation.push(api, state_file, key_path=key)
    pending = json.loads(state_file.read_text())["pending_push"]
    assert _sent(server.pushes[0]) == (pending["idempotency_key"], pending["bundle"])

    notices: list[str] = []
    bundle_out = tmp_path / "bundle.json"
    run = attestation.push(
        api, state_file, key_path=key, bundle_out=bundle_out, notify=notices.append
    )
    assert run["status"] == "succeeded"
    assert _sent(server.pushes[1]) == _sent(server.pushes[0])  # not signed again
    assert notices == ["resending the attestation of run r1 an earlier push signed"]
    assert json.loads(bundle_out.read_text())["dsseEnvelope"] == pending["bundle"]["dsseEnvelope"]
    assert not state_file.exists()


def test_adding_evidence_after_an_interrupted_push_signs_anew(tmp_path: Path) -> None:
    server = ControlPlane(["lost"])
    api, state_file = _ready(server, tmp_path)
    key = _key(tmp_path)
    with pytest.raises(NetworkError):
        attestation.push(api, state_file, key_path=key)
    attestation.add(api, state_file, name="version", value="1.2.4")
    assert "pending_push" not in json.loads(state_file.read_text())
    server.stored = None
    attestation.push(api, state_file, key_path=key)
    first, second = (_sent(r) for r in server.pushes)
    assert first[0] != second[0] and first[1] != second[1]


def test_a_kept_bundle_the_server_refuses_is_signed_anew_once(tmp_path: Path) -> None:
    # The first push never reached the server; by the retry, the bundle no longer verifies.
    server = ControlPlane(["lost", "unverified"])
    api, state_file = _ready(server, tmp_path)
    key = _key(tmp_path)
    with pytest.raises(NetworkError):
        attestation.push(api, state_file, key_path=key)
    server.stored = None  # the lost push was not stored after all
    run = attestation.push(api, state_file, key_path=key)
    assert run["status"] == "succeeded"
    kept, refused, fresh = (_sent(r) for r in server.pushes)
    assert refused == kept
    assert fresh[0] != kept[0] and fresh[1]["dsseEnvelope"] != kept[1]["dsseEnvelope"]
    assert not state_file.exists()
