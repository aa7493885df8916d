"""The control plane's SLSA outputs: the VSA issued at push and Provenance v1 on request.

Each is checked with chainproof's own verifier against the organisation's trusted root and
the verifier identity, and its statement fields against the real pushed run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, read, setup_workflow

from chainproof.core.bundle import Bundle
from chainproof.core.statement import PREDICATE_TYPE
from chainproof.errors import VerificationError
from chainproof.server.db import VerificationSummary
from chainproof.server.db.base import utcnow
from chainproof.server.services import runs
from chainproof.signing.ca import identity_uri
from chainproof.signing.identity import ExactIdentity
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.trust import TrustedRoot
from chainproof.signing.verifier import VerifiedAttestation, Verifier

BLOB = b"#!/bin/sh\necho release\n"
BLOB_SHA = hashlib.sha256(BLOB).hexdigest()
VERSION = "1.2.3"
VERSION_SHA = hashlib.sha256(VERSION.encode()).hexdigest()
HOSTED = {"type": "GITHUB_ACTION", "url": "https://github.com/acme/shop/actions/runs/7"}


def _start(env: Env, runner: dict[str, Any] | None = None) -> dict[str, Any]:
    setup_workflow(env, contract="contract-artifact.yaml")
    extra = {"runner": runner} if runner else {}
    reply = init_run(env, **extra)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _statement(env: Env, init: dict[str, Any]) -> dict[str, Any]:
    run, wf = init["run"], init["workflow"]

    def material(name: str, sha: str, kind: str, output: bool, cas: bool) -> dict[str, Any]:
        return {
            "name": name,
            "digest": {"sha256": sha},
            "annotations": {
                "chainproof.material.name": name,
                "chainproof.material.kind": kind,
                "chainproof.material.cas": str(cas).lower(),
                "chainproof.material.output": str(output).lower(),
            },
        }

    version = material("version", VERSION_SHA, "STRING", False, False)
    version["content"] = base64.b64encode(VERSION.encode()).decode()
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "release.sh", "digest": {"sha256": BLOB_SHA}},
            {"name": "chainproof.workflow.build", "digest": {"sha256": "ab" * 32}},
        ],
        "predicateType": PREDICATE_TYPE,
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
            "materials": [material("binary", BLOB_SHA, "ARTIFACT", True, True), version],
        },
    }


def _push(env: Env, init: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    """Upload, get a certificate, sign and push ``init``'s run, as ``token`` (the owner)."""
    run_id = init["run"]["id"]
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id}, token=token).json()
    put = env.client.put(
        f"/cas/v1/blobs/sha256:{BLOB_SHA}",
        content=BLOB,
        headers={"Authorization": f"Bearer {grant['token']}"},
    )
    assert put.status_code in (200, 201), put.text
    signer = EphemeralSigner()
    uri = identity_uri(env.org["name"], "p", "build", run_id)
    csr = {"run_id": run_id, "csr": signer.csr(uri).decode()}
    reply = env.post("/signing/certificates", csr, token=token)
    chain = [c.encode() for c in reply.json()["chain"]]
    bundle = signer.sign(_statement(env, init), chain).to_dict()
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle}, token=token)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _seconds(rfc3339: str) -> str:
    """An RFC 3339 UTC time to the second (the run view keeps microseconds)."""
    return rfc3339.split(".")[0].rstrip("Z")


def _verify(env: Env, bundle: dict[str, Any], identity: str | None = None) -> VerifiedAttestation:
    root = TrustedRoot.from_json(env.get("/trust/root").json())
    policy = ExactIdentity(identity or f"chainproof://{env.org['name']}/verifier")
    return Verifier(trusted_root=root).verify(Bundle.from_json(bundle), policy)


def test_push_issues_a_signed_vsa(app_client: Env) -> None:
    init = _start(app_client)
    run = _push(app_client, init)
    reply = app_client.get(f"/runs/{run['id']}/vsa")
    assert reply.status_code == 200, reply.text
    verified = _verify(app_client, reply.json())
    statement = verified.statement.to_dict()
    assert statement["predicateType"] == "https://slsa.dev/verification_summary/v1"
    predicate = statement["predicate"]
    org = app_client.org["name"]
    assert predicate["verifier"] == {"id": "http://testserver", "version": {"chainproof": "0.1.0"}}
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1"]
    assert predicate["slsaVersion"] == "1.0"
    assert predicate["resourceUri"] == f"chainproof://{org}/p/build/runs/{run['id']}"
    contract_sha = hashlib.sha256(read("contract-artifact.yaml").encode()).hexdigest()
    assert predicate["policy"] == {
        "uri": f"chainproof://{org}/contracts/p-c/revisions/1",
        "digest": {"sha256": contract_sha},
    }
    algorithm, digest = run["attestation_digest"].split(":")
    bundle_uri = f"http://testserver/api/v1/runs/{run['id']}/bundle"
    assert predicate["inputAttestations"] == [{"uri": bundle_uri, "digest": {algorithm: digest}}]
    stored_bundle = app_client.get(f"/runs/{run['id']}/bundle").json()
    assert hashlib.sha256(Bundle.from_json(stored_bundle).to_json().encode()).hexdigest() == digest
    # Subjects: the attestation itself, then everything the attestation is about.
    subjects = statement["subject"]
    assert subjects[0]["digest"] == {"sha256": digest} and subjects[0]["uri"] == bundle_uri
    assert subjects[1:] == _statement(app_client, init)["subject"]
    assert _seconds(predicate["timeVerified"]) == _seconds(run["finished_at"])
    with app_client.sessions() as session:
        row = session.scalar(
            select(VerificationSummary).where(VerificationSummary.run_id == run["id"])
        )
        assert row is not None and (row.result, row.level) == ("PASSED", 1)


def test_hosted_runner_is_still_build_level_1(app_client: Env) -> None:
    # A managed GitHub runner, but its identity token was not verified by the control plane.
    init = _start(app_client, {**HOSTED, "environment": "managed", "env": {}})
    run = _push(app_client, init)
    predicate = _verify(app_client, app_client.get(f"/runs/{run['id']}/vsa").json())
    assert predicate.statement.predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1"]


def test_provenance_of_a_succeeded_run(app_client: Env) -> None:
    init = _start(app_client, {**HOSTED, "environment": "managed", "env": {"GITHUB_SHA": "1"}})
    run = _push(app_client, init)
    reply = app_client.get(f"/runs/{run['id']}/provenance")
    assert reply.status_code == 200, reply.text
    statement = _verify(app_client, reply.json()).statement.to_dict()
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    # Subjects are the output materials; inputs are the resolved dependencies.
    assert statement["subject"] == [
        {
            "name": "binary",
            "digest": {"sha256": BLOB_SHA},
            "annotations": {"chainproof.material.kind": "ARTIFACT"},
        }
    ]
    definition = statement["predicate"]["buildDefinition"]
    assert definition["buildType"] == "https://chainproof.dev/slsa/build-types/workflow-run/v1"
    assert definition["resolvedDependencies"] == [
        {
            "name": "version",
            "digest": {"sha256": VERSION_SHA},
            "annotations": {"chainproof.material.kind": "STRING"},
        }
    ]
    external = definition["externalParameters"]
    assert external["contract"]["name"] == "p-c" and external["contract"]["revision"] == 1
    assert external["runner"] == {"type": "GITHUB_ACTION", "url": HOSTED["url"]}
    assert external["workflow"]["name"] == "build" and external["workflow"]["project"] == "p"
    assert definition["internalParameters"]["runID"] == run["id"]
    assert definition["internalParameters"]["runnerEnv"] == {"GITHUB_SHA": "1"}
    details = statement["predicate"]["runDetails"]
    assert details["builder"]["id"] == "https://chainproof.dev/runners/GITHUB_ACTION/managed"
    metadata = details["metadata"]
    assert metadata["invocationId"] == HOSTED["url"]
    assert _seconds(metadata["startedOn"]) == _seconds(run["created_at"])
    assert _seconds(metadata["finishedOn"]) == _seconds(run["finished_at"])
    algorithm, digest = run["attestation_digest"].split(":")
    assert details["byproducts"][0]["digest"] == {algorithm: digest}


def test_no_outputs_without_a_verified_push(app_client: Env) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    assert app_client.get(f"/runs/{run_id}/provenance").status_code == 409
    assert app_client.get(f"/runs/{run_id}/vsa").status_code == 404
    # A refused push (its material was never uploaded) issues nothing either.
    signer = EphemeralSigner()
    csr = signer.csr("chainproof://ignored").decode()
    reply = app_client.post("/signing/certificates", {"run_id": run_id, "csr": csr})
    chain = [c.encode() for c in reply.json()["chain"]]
    bundle = signer.sign(_statement(app_client, init), chain).to_dict()
    reply = app_client.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert reply.status_code == 422 and "not in the CAS" in reply.json()["detail"], reply.text
    assert app_client.get(f"/runs/{run_id}/vsa").status_code == 404
    with app_client.sessions() as session:
        found = session.scalar(
            select(VerificationSummary).where(VerificationSummary.run_id == run_id)
        )
        assert found is None


@pytest.mark.parametrize("ending", ["failed", "expired"])
def test_failed_or_expired_run_has_neither(app_client: Env, ending: str) -> None:
    init = _start(app_client)
    run_id = init["run"]["id"]
    if ending == "failed":
        reply = app_client.post(f"/runs/{run_id}/reset", {"trigger": "failure"})
        assert reply.status_code == 200, reply.text
    else:
        with app_client.sessions.begin() as session:
            assert runs.expire_runs(session, now=utcnow() + timedelta(days=1)) >= 1
    reply = app_client.get(f"/runs/{run_id}/provenance")
    assert reply.status_code == 409 and f"is {ending}" in reply.json()["detail"]
    reply = app_client.get(f"/runs/{run_id}/vsa")
    assert reply.status_code == 404 and "no verification summary" in reply.json()["detail"]


def test_tampered_vsa_is_rejected(app_client: Env) -> None:
    run = _push(app_client, _start(app_client))
    bundle = app_client.get(f"/runs/{run['id']}/vsa").json()
    # The right signer, but claimed as a run: the identity check refuses it.
    with pytest.raises(VerificationError, match="identity check failed"):
        _verify(app_client, bundle, identity=f"chainproof://{app_client.org['name']}/p/build")
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["verifiedLevels"] = ["SLSA_BUILD_LEVEL_3"]
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(VerificationError, match="signature check failed"):
        _verify(app_client, bundle)
    # Another organisation's root trusts neither this organisation's TSA (checked first) nor
    # its CA.
    other = app_client.new_org()
    with pytest.raises(VerificationError, match="timestamp check failed"):
        _verify(other, app_client.get(f"/runs/{run['id']}/vsa").json())
    assert other.get(f"/runs/{run['id']}/vsa").status_code == 404
    assert other.get(f"/runs/{run['id']}/provenance").status_code == 404


def _tree_size(env: Env) -> int:
    reply = env.get("/tlog/checkpoint")
    assert reply.status_code == 200, reply.text
    return int(reply.json()["tree_size"])


def test_provenance_is_signed_and_logged_once(app_client: Env) -> None:
    run = _push(app_client, _start(app_client))
    before = _tree_size(app_client)  # the attestation and its VSA are logged already
    first = app_client.get(f"/runs/{run['id']}/provenance").json()
    assert _tree_size(app_client) == before + 1
    again = app_client.get(f"/runs/{run['id']}/provenance").json()
    assert again == first and _tree_size(app_client) == before + 1
    entry = first["verificationMaterial"]["tlogEntries"][0]
    assert int(entry["logIndex"]) == before
    assert first["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]


def test_vsa_and_provenance_verify_with_sigstore_python(app_client: Env) -> None:
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.models import TrustedRoot as SigstoreRoot
    from sigstore.verify import Verifier as SigstoreVerifier
    from sigstore.verify.policy import Identity
    from sigstore_models.trustroot import v1 as trustroot_v1

    run = _push(app_client, _start(app_client))
    root = app_client.get("/trust/root").json()
    verifier = SigstoreVerifier(
        trusted_root=SigstoreRoot(trustroot_v1.TrustedRoot.from_json(json.dumps(root)))
    )
    policy = Identity(
        identity=f"chainproof://{app_client.org['name']}/verifier",
        issuer="https://chainproof.local",
    )
    for output, predicate_type in (
        ("vsa", "https://slsa.dev/verification_summary/v1"),
        ("provenance", "https://slsa.dev/provenance/v1"),
    ):
        bundle = app_client.get(f"/runs/{run['id']}/{output}").json()
        _, payload = verifier.verify_dsse(SigstoreBundle.from_json(json.dumps(bundle)), policy)
        assert json.loads(payload)["predicateType"] == predicate_type
