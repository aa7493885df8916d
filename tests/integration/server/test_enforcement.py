"""Policies at push: the control plane evaluates them itself, on the evidence it holds, and
enforces the gates (blocked runs keep their evidence), bypasses and required policies.

The statements pushed here carry no policy results of their own (as a CLI that skipped or
faked its checks would send): every verdict below is the server's.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run
from tests.integration.server.test_push import _sign

import chainproof.core.statement as statement_mod
from chainproof.server.db import Attestation, AuditEvent, PolicyEvaluationRow, VerificationSummary

# A CycloneDX SBOM with MIT and Apache-2.0 components.
SBOM = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {"type": "library", "name": "urllib3", "licenses": [{"license": {"id": "MIT"}}]},
            {
                "type": "library",
                "name": "requests",
                "licenses": [{"license": {"id": "Apache-2.0"}}],
            },
        ],
    }
).encode()
SBOM_SHA = hashlib.sha256(SBOM).hexdigest()


def _contract(materials: str = "", attestation: str = "", slot: str = "") -> str:
    lines = [
        "apiVersion: chainloop.dev/v1",
        "kind: Contract",
        "metadata: {name: gated}",
        "spec:",
        "  materials:",
        f"    - {{type: SBOM_CYCLONEDX_JSON, name: sbom{slot}}}",
    ]
    if materials or attestation:
        lines.append("  policies:")
        if materials:
            lines += ["    materials:", f"      - {materials}"]
        if attestation:
            lines += ["    attestation:", f"      - {attestation}"]
    return "\n".join(lines) + "\n"


BANNED_MIT = "{ref: sbom-banned-licenses, with: {licenses: MIT}%s}"


def _setup(env: Env, contract: str) -> dict[str, Any]:
    assert env.post("/projects", {"name": "p"}).status_code == 201
    reply = env.post("/contracts", {"name": "p-c", "raw": contract})
    assert reply.status_code == 201, reply.text
    reply = env.post("/workflows", {"name": "build", "project": "p", "contract": "p-c"})
    assert reply.status_code == 201, reply.text
    return _init(env)


def _init(env: Env) -> dict[str, Any]:
    reply = init_run(env)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _upload(env: Env, run_id: str, data: bytes = SBOM) -> None:
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id}).json()
    put = env.client.put(
        f"/cas/v1/blobs/sha256:{hashlib.sha256(data).hexdigest()}",
        content=data,
        headers={"Authorization": f"Bearer {grant['token']}"},
    )
    assert put.status_code in (200, 201), put.text


def _statement(
    env: Env,
    init: dict[str, Any],
    *,
    cas: bool = True,
    inline: bytes | None = None,
    annotations: dict[str, str] | None = None,
    reported: dict[str, Any] | None = None,
) -> dict[str, Any]:
    run, wf = init["run"], init["workflow"]
    material: dict[str, Any] = {
        "name": "sbom.cdx.json",
        "digest": {"sha256": SBOM_SHA},
        "annotations": {
            "chainproof.material.name": "sbom",
            "chainproof.material.kind": "SBOM_CYCLONEDX_JSON",
            "chainproof.material.cas": str(cas).lower(),
        },
    }
    if inline is not None:
        material["content"] = base64.b64encode(inline).decode()
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "sbom.cdx.json", "digest": {"sha256": SBOM_SHA}}],
        "predicateType": statement_mod.PREDICATE_TYPE,
        "predicate": {
            "workflow": {
                "org": env.org["name"],
                "project": wf["project"],
                "name": wf["name"],
                "workflowID": wf["id"],
                "runID": run["id"],
                "contractName": init["contract"]["name"],
                "contractRevision": init["contract"]["revision"],
            },
            "materials": [material],
            "annotations": annotations or {},
            "policyEvaluations": reported or {},
        },
    }


def _push(
    env: Env,
    init: dict[str, Any],
    *,
    token: str | None = None,
    bypass: bool = False,
    upload: bool = True,
    **statement: Any,
) -> Any:
    run_id = init["run"]["id"]
    if upload:
        _upload(env, run_id)
    bundle = _sign(env, init, _statement(env, init, **statement))
    body: dict[str, Any] = {"bundle": bundle}
    if bypass:
        body["bypass_policy_check"] = True
    return env.post(f"/runs/{run_id}/attestation", body, token=token)


def _run(env: Env, run_id: str) -> dict[str, Any]:
    reply = env.get(f"/runs/{run_id}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _vsa_result(env: Env, run_id: str) -> str:
    bundle = env.get(f"/runs/{run_id}/vsa").json()
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return str(statement["predicate"]["verificationResult"])


def _actions(env: Env, run_id: str) -> list[str]:
    with env.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.target == run_id)))


def test_gated_violation_blocks_the_run_and_keeps_the_evidence(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=BANNED_MIT % ", gate: true"))
    run_id = init["run"]["id"]
    reply = _push(app_client, init)
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["code"] == "policy_violation"
    assert "sbom-banned-licenses on sbom" in problem["detail"] and "urllib3" in problem["detail"]
    (violation,) = problem["details"]["violations"]
    assert violation["source"] == "server" and violation["gate"] is True
    run = _run(app_client, run_id)
    assert run["status"] == "blocked" and run["reason"].startswith("blocked by policy")
    assert run["verification"]["policy"] == {
        "strategy": "advisory",
        "evaluated": 1,
        "violated": 1,
        "gated_violations": 1,
        "blocked": True,
        "bypassed": False,
    }
    # The evidence is kept: the attestation, the materials, the evaluations, a FAILED VSA.
    with app_client.sessions() as session:
        assert session.scalar(select(Attestation).where(Attestation.run_id == run_id))
        # Issued by the refused push's follow-up (returned with the 422), not by a read.
        vsa = select(VerificationSummary.id).where(VerificationSummary.run_id == run_id)
        assert session.scalar(vsa)
        rows = list(
            session.scalars(select(PolicyEvaluationRow).where(PolicyEvaluationRow.run_id == run_id))
        )
    assert [(r.policy, r.material, r.gate, r.source) for r in rows] == [
        ("sbom-banned-licenses", "sbom", True, "server")
    ]
    assert [m["name"] for m in run["materials"]] == ["sbom"]
    assert _vsa_result(app_client, run_id) == "FAILED"
    listed = app_client.get(f"/runs/{run_id}/policy-evaluations").json()["items"]
    assert listed[0]["violations"][0]["message"].count("urllib3") == 1
    assert "run.blocked" in _actions(app_client, run_id)
    # Pushing the same bundle again gives the same refusal, and no other push is taken.
    again = app_client.post(
        f"/runs/{run_id}/attestation",
        {"bundle": app_client.get(f"/runs/{run_id}/bundle").json()},
    )
    assert again.status_code == 422 and again.json()["code"] == "policy_violation"
    assert app_client.get("/runs", params={"status": "blocked"}).json()["items"][0]["id"] == run_id


def test_advisory_violation_is_recorded_and_the_push_accepted(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=BANNED_MIT % ""))
    reply = _push(app_client, init)
    assert reply.status_code == 200, reply.text
    pushed = reply.json()
    assert pushed["status"] == "succeeded"
    (evaluation,) = pushed["policy_evaluations"]
    assert evaluation["gate"] is False and evaluation["violations"]
    assert pushed["verification"]["policy"]["violated"] == 1
    assert _vsa_result(app_client, pushed["id"]) == "PASSED"


def test_passing_policy_on_the_stored_blob(app_client: Env) -> None:
    contract = _contract(materials="{ref: sbom-banned-licenses, with: {licenses: AGPL-3.0-only}}")
    pushed = _push(app_client, _setup(app_client, contract)).json()
    (evaluation,) = pushed["policy_evaluations"]
    assert evaluation["violations"] == [] and evaluation["skipped"] is False
    assert evaluation["with"] == {"licenses": "AGPL-3.0-only"}


def test_organisation_strategy_gates_policies_without_their_own_gate(app_client: Env) -> None:
    reply = app_client.patch("/org", {"policy_strategy": "enforced"})
    assert reply.status_code == 200 and reply.json()["policy_strategy"] == "enforced"
    init = _setup(app_client, _contract(materials=BANNED_MIT % ""))
    assert _push(app_client, init).status_code == 422
    # gate: false on the attachment keeps it advisory under an enforced strategy
    reply = app_client.put(
        "/contracts/p-c", {"raw": _contract(materials=BANNED_MIT % ", gate: false")}
    )
    assert reply.status_code == 200, reply.text
    pushed = _push(app_client, _init(app_client))
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["verification"]["policy"]["violated"] == 1
    bad = app_client.patch("/org", {"policy_strategy": "strict"})
    assert bad.status_code == 422


def test_owner_may_bypass_and_it_is_audited(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=BANNED_MIT % ", gate: true"))
    reply = _push(app_client, init, bypass=True)
    assert reply.status_code == 200, reply.text
    pushed = reply.json()
    assert pushed["status"] == "succeeded"
    assert pushed["verification"]["policy"]["bypassed"] is True
    assert "run.policy_bypass" in _actions(app_client, pushed["id"])
    assert _vsa_result(app_client, pushed["id"]) == "FAILED"  # the policy was not met


def test_robot_bypass_needs_the_grant(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=BANNED_MIT % ", gate: true"))
    plain = app_client.robot("ci")
    refused = _push(app_client, init, token=plain, bypass=True)
    assert refused.status_code == 403 and "may not bypass" in refused.json()["detail"]
    assert _run(app_client, init["run"]["id"])["status"] == "initialized"  # nothing recorded
    granted = app_client.post("/tokens", {"name": "release", "policy_bypass": True}).json()
    assert granted["policy_bypass"] is True
    reply = _push(app_client, init, token=granted["token"], bypass=True, upload=False)
    assert reply.status_code == 200, reply.text
    # a robot's push that asks for no bypass is blocked as any other
    blocked = _push(app_client, _init(app_client), token=granted["token"])
    assert blocked.status_code == 422


def test_required_policies_apply_whatever_the_contract(app_client: Env) -> None:
    required = {
        "policies": {
            "attestation": [
                {"ref": "required-annotations", "with": {"names": "ticket"}, "gate": True}
            ]
        }
    }
    reply = app_client.patch("/org", {"required_policies": required})
    assert reply.status_code == 200, reply.text
    assert reply.json()["required_policies"] == required
    init = _setup(app_client, _contract())  # the contract names no policy
    reply = _push(app_client, init)
    assert reply.status_code == 422, reply.text
    (violation,) = reply.json()["details"]["violations"]
    assert violation["name"] == "required-annotations" and violation["required"] is True
    ok = _push(app_client, _init(app_client), annotations={"ticket": "REL-1"})
    assert ok.status_code == 200, ok.text
    (evaluation,) = ok.json()["policy_evaluations"]
    assert evaluation["required"] is True and evaluation["violations"] == []
    bad = app_client.patch("/org", {"required_policies": {"policies": {"bogus": []}}})
    assert bad.status_code == 422
    cleared = app_client.patch("/org", {"required_policies": None})
    assert cleared.json()["required_policies"] is None


def test_a_policy_the_server_cannot_load_fails_closed(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials="{ref: no-such-policy, gate: true}"))
    reply = _push(app_client, init)
    assert reply.status_code == 422
    (violation,) = reply.json()["details"]["violations"]
    assert "could not evaluate it" in violation["violations"][0]["message"]


def test_file_policies_are_never_read_by_the_server(app_client: Env, tmp_path: Any) -> None:
    # A contract naming a file the server could read: the server must not read it, and
    # takes what the CLI reported for it (source: client).
    secret = tmp_path / "server-local.yaml"
    secret.write_text("not a policy")
    contract = _contract(materials=f"{{ref: 'file://{secret}', gate: true}}")
    reported = {
        "sbom": [
            {
                "name": "local-check",
                "materialName": "sbom",
                "type": "SBOM_CYCLONEDX_JSON",
                "violations": [{"subject": "local-check", "message": "found by the CLI"}],
                "skipped": False,
                "policyReference": {"name": "local-check", "uri": f"file://{secret}"},
                "gate": True,
            }
        ]
    }
    reply = _push(app_client, _setup(app_client, contract), reported=reported)
    assert reply.status_code == 422, reply.text
    (violation,) = reply.json()["details"]["violations"]
    assert violation["source"] == "client" and violation["name"] == "local-check"
    assert "not a policy" not in reply.text


def test_digest_only_material_is_skipped_not_passed(app_client: Env) -> None:
    init = _setup(
        app_client, _contract(materials=BANNED_MIT % ", gate: true", slot=", skip_upload: true")
    )
    reply = _push(app_client, init, cas=False, upload=False)
    assert reply.status_code == 200, reply.text
    (evaluation,) = reply.json()["policy_evaluations"]
    assert evaluation["skipped"] is True
    assert "only this material's digest" in evaluation["skipReasons"][0]


def test_embedded_content_is_evaluated_only_if_it_matches_its_digest(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=BANNED_MIT % ", gate: true"))
    reply = _push(app_client, init, cas=False, upload=False, inline=SBOM)
    assert reply.status_code == 422, reply.text
    assert "urllib3" in reply.json()["detail"]
    # Clean bytes under the real SBOM's digest are not judged in its place.
    clean = SBOM.replace(b"MIT", b"ISC")
    reply = _push(app_client, _init(app_client), cas=False, upload=False, inline=clean)
    assert reply.status_code == 422, reply.text
    assert "does not match its digest" in reply.json()["detail"]


@pytest.mark.parametrize("names", ["ticket"])
def test_attestation_policy_sees_the_signed_statement(app_client: Env, names: str) -> None:
    contract = _contract(attestation=f"{{ref: required-annotations, with: {{names: {names}}}}}")
    pushed = _push(app_client, _setup(app_client, contract), annotations={"ticket": "X"}).json()
    (evaluation,) = pushed["policy_evaluations"]
    assert evaluation["materialName"] == "" and evaluation["violations"] == []


def test_stored_policies_are_what_the_server_evaluates(app_client: Env) -> None:
    from pathlib import Path

    document = (
        Path(__file__).parents[2] / "assets" / "policies" / "stored" / "banned-components.yaml"
    ).read_text()
    created = app_client.post("/policies", {"document": document})
    assert created.status_code == 201, created.text
    init = _setup(app_client, _contract(materials="{ref: banned-components, gate: true}"))
    reply = _push(app_client, init)
    assert reply.status_code == 422, reply.text
    (violation,) = reply.json()["details"]["violations"]
    assert violation["violations"][0]["message"] == "component urllib3 is banned"
    uri = violation["policyReference"]["uri"]
    assert uri == f"chainproof://{app_client.org['name']}/policies/banned-components/revisions/1"
    # A new revision that bans nothing the SBOM has: the next run passes.
    updated = app_client.put(
        "/policies/banned-components", {"document": document.replace("urllib3", "left-pad")}
    )
    assert updated.status_code == 200, updated.text
    ok = _push(app_client, _init(app_client))
    assert ok.status_code == 200, ok.text
    assert ok.json()["policy_evaluations"][0]["policyReference"]["uri"].endswith("/revisions/2")
