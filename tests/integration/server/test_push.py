"""Push: verify before store, idempotency, conflicts, tampering, and download after push."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow

import chainproof.core.statement as statement_mod
import chainproof.signing.ca as ca_mod
import chainproof.signing.signer as signer_mod

BLOB = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}\n'
BLOB_DIGEST = hashlib.sha256(BLOB).hexdigest()


def _start(env: Env) -> dict[str, Any]:
    setup_workflow(env, contract="contract-artifact.yaml")
    reply = init_run(env)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _upload(env: Env, run_id: str, data: bytes = BLOB) -> None:
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id}).json()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    put = env.client.put(
        f"/cas/v1/blobs/{digest}",
        content=data,
        headers={"Authorization": f"Bearer {grant['token']}"},
    )
    assert put.status_code in (200, 201), put.text


def _statement(env: Env, init: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    run, wf = init["run"], init["workflow"]
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "binary", "digest": {"sha256": BLOB_DIGEST}}],
        "predicateType": statement_mod.PREDICATE_TYPE,
        "predicate": {
            "workflow": {
                "org": env.org["name"],
                "project": wf["project"],
                "projectVersion": None,
                "name": wf["name"],
                "team": wf["team"],
                "workflowID": wf["id"],
                "runID": run_id or run["id"],
                "contractName": init["contract"]["name"],
                "contractRevision": init["contract"]["revision"],
            },
            "materials": [
                {
                    "name": "binary",
                    "digest": {"sha256": BLOB_DIGEST},
                    "annotations": {
                        "chainproof.material.name": "binary",
                        "chainproof.material.kind": "ARTIFACT",
                        "chainproof.material.cas": "true",
                    },
                }
            ],
        },
    }


def _sign(env: Env, init: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    run_id = init["run"]["id"]
    signer = signer_mod.EphemeralSigner()
    uri = ca_mod.identity_uri(env.org["name"], "p", "build", run_id)
    reply = env.post("/signing/certificates", {"run_id": run_id, "csr": signer.csr(uri).decode()})
    assert reply.status_code == 200, reply.text
    chain = [c.encode() for c in reply.json()["chain"]]
    bundle: dict[str, Any] = signer.sign(statement, chain).to_dict()
    return bundle


def _materials() -> list[dict[str, Any]]:
    return [
        {
            "name": "binary",
            "kind": "ARTIFACT",
            "digest": f"sha256:{BLOB_DIGEST}",
            "size": len(BLOB),
            "filename": "bom.json",
            "value": None,
            "annotations": {},
            "summary": {"components": 0},
            "output": False,
        }
    ]


def test_push_happy_path_then_download(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    bundle = _sign(app_client, init, _statement(app_client, init))
    reply = app_client.post(
        f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()}
    )
    assert reply.status_code == 200, reply.text
    run = reply.json()
    assert run["status"] == "succeeded" and run["attestation_digest"]
    assert run["verification"]["verified"] is True
    (material,) = run["materials"]
    assert material["digest"] == f"sha256:{BLOB_DIGEST}" and material["uploaded"] is True
    assert material["filename"] == "bom.json" and material["size"] == len(BLOB)
    stored = app_client.get(f"/runs/{run_id}/bundle").json()
    assert stored == run["bundle"]
    # what the server adds is the log entry and a timestamp; the rest is what was sent
    material = stored["verificationMaterial"]
    (entry,) = material.pop("tlogEntries")
    assert entry["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}
    (stamp,) = material.pop("timestampVerificationData")["rfc3161Timestamps"]
    assert base64.b64decode(stamp["signedTimestamp"])
    for key in ("tlogEntries", "timestampVerificationData"):
        bundle["verificationMaterial"].pop(key, None)
    assert stored == bundle
    assert run["verification"]["transparency_log"]["log_index"] == int(entry["logIndex"])
    statement = app_client.get(f"/runs/{run_id}/statement").json()
    assert statement["predicate"]["workflow"]["runID"] == run_id
    root = app_client.get("/trust/root").json()
    assert root["certificateAuthorities"]

    grant = app_client.post(
        "/cas/tokens", {"direction": "download", "digest": f"sha256:{BLOB_DIGEST}"}
    )
    assert grant.status_code == 200, grant.text
    got = app_client.client.get(
        f"/cas/v1/blobs/sha256:{BLOB_DIGEST}",
        headers={"Authorization": f"Bearer {grant.json()['token']}"},
    )
    assert got.status_code == 200 and got.content == BLOB
    other = app_client.new_org()
    hidden = other.post("/cas/tokens", {"direction": "download", "digest": f"sha256:{BLOB_DIGEST}"})
    assert hidden.status_code == 404


def test_push_twice_idempotent_or_conflict(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    statement = _statement(app_client, init)
    bundle = _sign(app_client, init, statement)
    body = {"bundle": bundle, "materials": _materials()}
    key = {"Idempotency-Key": "push-1"}
    first = app_client.post(f"/runs/{run_id}/attestation", body, headers=key)
    assert first.status_code == 200, first.text
    same_key = app_client.post(f"/runs/{run_id}/attestation", body, headers=key)
    assert same_key.status_code == 200 and same_key.json()["id"] == run_id
    same_bundle = app_client.post(f"/runs/{run_id}/attestation", body)
    assert same_bundle.status_code == 200
    # a different bundle for the finished run is a conflict (signing refused too)
    second = app_client.post("/signing/certificates", {"run_id": run_id, "csr": "x"})
    assert second.status_code in (409, 422)
    other_bundle = json.loads(json.dumps(bundle))
    other_bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(b"x" * 64).decode()
    conflict = app_client.post(f"/runs/{run_id}/attestation", {"bundle": other_bundle})
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"


def test_tampered_payload_rejected_run_stays_initialized(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    bundle = _sign(app_client, init, _statement(app_client, init))
    envelope = bundle["dsseEnvelope"]
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["predicate"]["workflow"]["team"] = "someone-else"
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    reply = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert reply.status_code == 422 and reply.json()["code"] == "verification_failed"
    assert app_client.get(f"/runs/{run_id}").json()["status"] == "initialized"


def test_statement_for_another_run_rejected(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    other_run = init_run(app_client).json()["run"]["id"]
    bundle = _sign(app_client, init, _statement(app_client, init, run_id=other_run))
    reply = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert reply.status_code == 422 and "run" in reply.json()["detail"]
    # and the right statement signed for this run does not verify against the other run
    good = _sign(app_client, init, _statement(app_client, init))
    reply = app_client.post(f"/runs/{other_run}/attestation", {"bundle": good})
    assert reply.status_code == 422 and reply.json()["code"] == "verification_failed"


def test_material_missing_from_cas_rejected(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    bundle = _sign(app_client, init, _statement(app_client, init))
    reply = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert reply.status_code == 422 and "CAS" in reply.json()["detail"]
    assert app_client.get(f"/runs/{run_id}").json()["status"] == "initialized"


def test_malformed_signed_material_rejected(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    statement = _statement(app_client, init)
    statement["predicate"]["materials"][0]["annotations"]["chainproof.material.size"] = "lots"
    bundle = _sign(app_client, init, statement)
    reply = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert reply.status_code == 422 and reply.json()["code"] == "verification_failed"
    assert "material 'binary': its size 'lots' is not a number" in reply.json()["detail"]
    assert app_client.get(f"/runs/{run_id}").json()["status"] == "initialized"


def test_key_signed_bundle_needs_registered_key(app_client: Env) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    init = _start(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signer_mod.KeySigner.from_pem(pem, None)
    bundle = signer.sign(_statement(app_client, init)).to_dict()
    public = signer.public_key_pem
    public = public.decode() if isinstance(public, bytes) else str(public)
    body = {"bundle": bundle, "public_key": public}
    refused = app_client.post(f"/runs/{run_id}/attestation", body)
    assert refused.status_code == 422 and "registered" in refused.json()["detail"]
    assert app_client.post("/signing/keys", {"name": "ci", "public_key": public}).status_code == 201
    accepted = app_client.post(f"/runs/{run_id}/attestation", body)
    assert accepted.status_code == 200, accepted.text
