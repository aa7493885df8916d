"""init → add → status → push / reset against a fake control plane (httpx.MockTransport).

Needs the domain modules (crafting state, statement, signers); skipped until they exist.
"""

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
from chainproof.errors import ContractNotSatisfied

CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {type: STRING, name: version}
    - {type: STRING, name: notes, optional: true}
"""


class FakeControlPlane:
    def __init__(self, contract_text: str = CONTRACT) -> None:
        self.spec = Contract.parse(contract_text, source="test").to_dict()
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        run = {
            "id": "r1",
            "project": "shop",
            "workflow": "build",
            "status": "initialized",
            "project_version": "v1",
        }
        if path == "/api/v1/runs":
            return httpx.Response(
                201,
                json={
                    "run": run,
                    "workflow": {"id": "w1", "name": "build", "project": "shop", "team": None},
                    "org": {"id": "o1", "name": "acme"},
                    "contract": {
                        "name": "release",
                        "revision": 1,
                        "latest_revision": 2,
                        "spec": self.spec,
                    },
                },
            )
        if path == "/api/v1/runs/r1/attestation":
            return httpx.Response(200, json={**run, "status": "succeeded"})
        if path == "/api/v1/runs/r1/reset":
            body = json.loads(request.content)
            status = "failed" if body["trigger"] == "failure" else "cancelled"
            return httpx.Response(200, json={**run, "status": status})
        return httpx.Response(
            404,
            json={"code": "not_found", "detail": path},
            headers={"content-type": "application/problem+json"},
        )

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


@pytest.fixture
def server() -> FakeControlPlane:
    return FakeControlPlane()


@pytest.fixture
def api(server: FakeControlPlane) -> ApiClient:
    return ApiClient("http://cp.test", "cp_x", transport=httpx.MockTransport(server))


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / attestation.STATE_FILE


def start(api: ApiClient, state_file: Path, tmp_path: Path) -> Any:
    notices: list[str] = []
    state = attestation.init(
        api,
        state_file=state_file,
        workflow="build",
        project="shop",
        project_version="v1",
        environ={},
        cwd=tmp_path,
        notify=notices.append,
    )
    assert notices and "newer revision 2" in notices[0]
    return state


def key_file(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_init_writes_state_and_status_reports_missing(
    api: ApiClient, server: FakeControlPlane, state_file: Path, tmp_path: Path
) -> None:
    state = start(api, state_file, tmp_path)
    assert state_file.exists()
    assert state.run_id == "r1" and state.org == "acme"
    body = json.loads(server.requests[0].content)
    assert body["workflow"] == "build" and body["runner"]["type"]
    report = attestation.status(state)
    assert report["missing"] == ["material version (STRING)"]
    assert [m["name"] for m in report["materials"]] == ["version", "notes"]


def test_push_refuses_incomplete_attestation_and_sends_nothing(
    api: ApiClient, server: FakeControlPlane, state_file: Path, tmp_path: Path
) -> None:
    start(api, state_file, tmp_path)
    sent = len(server.requests)
    with pytest.raises(ContractNotSatisfied):
        attestation.push(api, state_file, key_path=key_file(tmp_path))
    assert len(server.requests) == sent
    assert state_file.exists()


def test_add_then_push_with_key(
    api: ApiClient, server: FakeControlPlane, state_file: Path, tmp_path: Path
) -> None:
    start(api, state_file, tmp_path)
    [crafted] = attestation.add(api, state_file, name="version", value="1.2.3")
    assert crafted.kind == "STRING"
    bundle_out = tmp_path / "bundle.json"
    run = attestation.push(api, state_file, key_path=key_file(tmp_path), bundle_out=bundle_out)
    assert run["status"] == "succeeded"
    assert not state_file.exists()
    assert json.loads(bundle_out.read_text())
    push = server.requests[-1]
    assert push.url.path == "/api/v1/runs/r1/attestation"
    assert push.headers["idempotency-key"].startswith("push-")
    body = json.loads(push.content)
    assert body["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert [m["name"] for m in body["materials"]] == ["version"]
    assert "upload_path" not in body["materials"][0]


def test_reset_marks_run_and_removes_state(
    api: ApiClient, server: FakeControlPlane, state_file: Path, tmp_path: Path
) -> None:
    start(api, state_file, tmp_path)
    run = attestation.reset(api, state_file, trigger="cancellation", reason="stop")
    assert run["status"] == "cancelled"
    assert not state_file.exists()
    assert json.loads(server.requests[-1].content) == {"trigger": "cancellation", "reason": "stop"}


def test_missing_allow_listed_env_resets_run(state_file: Path, tmp_path: Path) -> None:
    server = FakeControlPlane(CONTRACT + "  envAllowList: [RELEASE_CHANNEL]\n")
    api = ApiClient("http://cp.test", "cp_x", transport=httpx.MockTransport(server))
    with pytest.raises(ContractNotSatisfied):
        attestation.init(
            api, state_file=state_file, workflow="build", project="shop", environ={}, cwd=tmp_path
        )
    assert server.paths()[-1] == "POST /api/v1/runs/r1/reset"
    assert not state_file.exists()


def _payload_statement(bundle: dict[str, Any]) -> dict[str, Any]:
    import base64

    envelope = bundle.get("dsseEnvelope", bundle)
    statement: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return statement


def test_add_evaluates_material_policies_and_push_records_them(
    assets: Path, state_file: Path, tmp_path: Path
) -> None:
    server = FakeControlPlane((assets / "contracts" / "with-policies.yaml").read_text())
    api = ApiClient("http://cp.test", "cp_x", transport=httpx.MockTransport(server))
    start(api, state_file, tmp_path)
    reports: dict[str, list[dict[str, Any]]] = {}
    attestation.add(
        api, state_file, name="version", value="1.2.3", policy_report=reports.__setitem__
    )
    [evaluation] = reports["version"]
    assert evaluation["name"] == "semver-tag" and evaluation["gate"] is True
    assert [v["message"] for v in evaluation["violations"]] == [
        "version 1.2.3 does not start with v"
    ]
    state = attestation.load_state(state_file)
    assert state.policy_evaluations == {"version": [evaluation]}

    # adding the material again replaces its evaluations
    attestation.add(api, state_file, name="version", value="v1.2.4")
    state = attestation.load_state(state_file)
    assert state.policy_evaluations["version"][0]["violations"] == []

    bundle_out = tmp_path / "bundle.json"
    attestation.push(api, state_file, key_path=key_file(tmp_path), bundle_out=bundle_out)
    predicate = _payload_statement(json.loads(bundle_out.read_text()))["predicate"]
    evaluations = predicate["policyEvaluations"]
    assert [e["name"] for e in evaluations["version"]] == ["semver-tag"]
    runner, sbom = evaluations["CHAINPROOF.ATTESTATION"]
    assert runner["name"] == "runner-ci" and "GENERIC" in runner["violations"][0]["message"]
    assert sbom["name"] == "sbom-present" and sbom["violations"]


def test_add_with_a_broken_policy_records_and_uploads_nothing(
    assets: Path, state_file: Path, tmp_path: Path
) -> None:
    from chainproof.errors import PolicyError

    text = (assets / "contracts" / "with-policies.yaml").read_text()
    server = FakeControlPlane(
        text.replace("ref: runner-ci", "ref: runner-ci").replace(
            "    attestation:", "      - ref: no-such-policy\n    attestation:"
        )
    )
    api = ApiClient("http://cp.test", "cp_x", transport=httpx.MockTransport(server))
    # Caught at init, before any evidence: the run is reset as failed, no state is written.
    with pytest.raises(PolicyError, match="unknown policy 'no-such-policy'"):
        start(api, state_file, tmp_path)
    assert server.paths()[-1] == "POST /api/v1/runs/r1/reset"
    assert "policies cannot run" in json.loads(server.requests[-1].content)["reason"]
    assert not state_file.exists()


def test_required_policy_input_without_a_value_fails_init(state_file: Path, tmp_path: Path) -> None:
    from chainproof.errors import PolicyError

    contract = (
        CONTRACT
        + """  policies:
    materials:
      - ref: vex-covers-cves
  policyGroups:
    - ref: sbom-quality
"""
    )
    server = FakeControlPlane(contract)
    api = ApiClient("http://cp.test", "cp_x", transport=httpx.MockTransport(server))
    with pytest.raises(PolicyError, match="vex-covers-cves: missing required input 'cves'"):
        attestation.init(
            api, state_file=state_file, workflow="build", project="shop", environ={}, cwd=tmp_path
        )
    assert server.paths()[-1] == "POST /api/v1/runs/r1/reset"
    assert not state_file.exists()


INIT_PHASE_CONTRACT = (
    CONTRACT
    + """\
  policies:
    attestation:
      - embedded:
          apiVersion: chainloop.dev/v1
          kind: Policy
          metadata: {name: hosted-runner-at-init}
          spec:
            policies:
              - kind: ATTESTATION
                attestation_phases: [INIT]
                embedded: |
                  package hosted_runner
                  import rego.v1
                  violations contains msg if {
                    input.predicate.runner.type == "GENERIC"
                    msg := "the job does not run on a CI runner"
                  }
      - ref: runner-ci
"""
)


def test_init_phase_policies_run_at_init_and_stay_in_the_statement(
    state_file: Path, tmp_path: Path
) -> None:
    server = FakeControlPlane(INIT_PHASE_CONTRACT)
    api = ApiClient("http://cp.test", "cp_x", transport=httpx.MockTransport(server))
    notices: list[str] = []
    attestation.init(
        api,
        state_file=state_file,
        workflow="build",
        project="shop",
        environ={},
        cwd=tmp_path,
        notify=notices.append,
    )
    # Only the policy that asks for INIT runs at init (runner-ci names no phase: push only).
    assert [n for n in notices if "(INIT)" in n] == [
        "policy hosted-runner-at-init (INIT): 1 violation(s): the job does not run on a CI runner"
    ]
    state = attestation.load_state(state_file)
    [recorded] = state.policy_evaluations["CHAINPROOF.ATTESTATION"]
    assert recorded["name"] == "hosted-runner-at-init"
    attestation.add(api, state_file, name="version", value="1.2.3")
    bundle_out = tmp_path / "bundle.json"
    attestation.push(api, state_file, key_path=key_file(tmp_path), bundle_out=bundle_out)
    predicate = _payload_statement(json.loads(bundle_out.read_text()))["predicate"]
    names = [e["name"] for e in predicate["policyEvaluations"]["CHAINPROOF.ATTESTATION"]]
    assert names == ["hosted-runner-at-init", "runner-ci"]
