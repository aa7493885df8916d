"""``POST /api/v1/imports/chainloop``: a real Chainloop bundle, verified against the CA it
names, becomes a finished run of the organisation; again, it is the same run; a bundle of
another CA, a tampered one or a robot's call records nothing (issue 21). SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from tests.chainloop_bundles import (
    ASSETS,
    CHAINLOOP_CA,
    ChainloopCA,
    real_bundle,
    statement_of,
)
from tests.integration.conftest import Env

from chainproof.server.db import AuditEvent, WorkflowRun
from chainproof.server.services import vsa

CA_PEM = CHAINLOOP_CA.read_text()


def _import(env: Env, bundle: dict[str, Any], *cas: str, token: str | None = None) -> Any:
    body = {"bundle": bundle, "ca_certificates": list(cas or (CA_PEM,))}
    return env.post("/imports/chainloop", body, token=token)


def _runs(env: Env) -> int:
    with env.sessions() as session:
        return int(
            session.scalar(select(func.count()).where(WorkflowRun.org_id == env.org["id"])) or 0
        )


def test_a_real_bundle_becomes_a_finished_run_once(app_client: Env) -> None:
    env = app_client
    reply = _import(env, real_bundle("attestation-bundle.json"))
    assert reply.status_code == 201, reply.text
    answer = reply.json()
    run = answer["run"]
    assert answer["created"] is True
    assert (run["project"], run["workflow"], run["project_version"]) == (
        "myproject",
        "mywf",
        "v1.0.0-rc.13",
    )
    assert run["status"] == "succeeded"
    assert run["created_at"] == "2025-04-30T14:02:47.737302Z"
    assert run["finished_at"] == "2025-04-30T14:04:31.905901Z"
    assert run["policy_result"] == "violated"  # Chainloop's own verdict, kept
    verification = run["verification"]
    assert verification["source"] == "chainloop"
    assert verification["identity"] == "O=18c3f782-4936-4630-ab8d-20b511366699"
    assert verification["chainloop"]["run_id"] == "e1ca13ca-9b8a-4c68-b176-0f76b219ab55"
    assert verification["chainloop"]["policy_evaluations"][0]["violations"] == [
        "missing SCA scan material"
    ]
    [material] = answer["materials"]
    assert material["digest"] == (
        "sha256:a87aa51698e32d770c2214ffec79eb7bdde31cdfd7f2135f81d3e958834dbda5"
    )
    assert material["uploaded"] is False  # its blob was never uploaded here

    stored = env.get(f"/runs/{run['id']}/bundle")
    assert stored.status_code == 200
    original = real_bundle("attestation-bundle.json")["dsseEnvelope"]
    kept = stored.json()["dsseEnvelope"]
    assert kept["payload"] == original["payload"]
    assert kept["signatures"][0]["sig"] == original["signatures"][0]["sig"]

    again = _import(env, real_bundle("attestation-bundle.json"))
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["run"]["id"] == run["id"]
    assert _runs(env) == 1
    with env.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.org_id == env.org["id"])
        ).all()
    assert actions.count("run.import") == 1


def test_a_bundle_of_another_ca_or_tampered_is_refused_and_nothing_recorded(
    app_client: Env,
) -> None:
    env = app_client
    other = _import(env, real_bundle("controlplane-bundle.json"))
    assert other.status_code == 422, other.text
    assert "is not a trusted CA" in other.json()["detail"]

    tampered = real_bundle("attestation-bundle.json")
    statement = statement_of(tampered)
    statement["predicate"]["metadata"]["project"] = "someone-else"
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    refused = _import(env, tampered)
    assert refused.status_code == 422
    assert "signature check failed" in refused.json()["detail"]

    impostor = ChainloopCA()  # Chainloop's CA name, another key
    forged = impostor.sign(statement_of(real_bundle("attestation-bundle.json")))
    assert "not issued by a trusted CA" in _import(env, forged).json()["detail"]
    assert _runs(env) == 0
    assert env.get("/projects/myproject").status_code == 404


def test_only_owners_and_admins_import(app_client: Env) -> None:
    env = app_client
    reply = _import(env, real_bundle("attestation-bundle.json"), token=env.robot())
    assert reply.status_code == 403
    assert _runs(env) == 0


def test_a_chainproof_predicate_is_not_imported(app_client: Env) -> None:
    env = app_client
    ca = ChainloopCA()
    statement = statement_of(real_bundle("attestation-bundle.json"))
    statement["predicateType"] = "https://chainproof.dev/attestation/v1"
    reply = _import(env, ca.sign(statement), ca.pem().decode())
    assert reply.status_code == 422
    assert "not Chainloop's" in reply.json()["detail"]


def test_an_imported_runs_vsa_says_when_it_was_imported(app_client: Env) -> None:
    env = app_client
    run = _import(env, real_bundle("attestation-bundle.json")).json()["run"]
    with env.sessions.begin() as session:
        assert vsa.repair(session, run["id"]) is True  # as the worker's vsa_repair does
    bundle = env.get(f"/runs/{run['id']}/vsa").json()
    predicate = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))["predicate"]
    assert predicate["timeVerified"] == run["verification"]["checked_at"][:19] + "Z"
    # Chainloop's policies were advisory: their violation does not fail the summary.
    assert predicate["verificationResult"] == "PASSED"


def test_every_material_form_of_chainloops_renderer_is_recorded(app_client: Env) -> None:
    """The statement Chainloop's renderer wrote (attestation.output.v0.2.json), signed here:
    a string kept inline, an artifact, an image (an output) and an SBOM."""
    env = app_client
    rendered = json.loads((ASSETS / "attestation.output.v0.2.json").read_text())
    statement = {
        "_type": rendered["type"],
        "subject": rendered["subject"],
        "predicateType": rendered["predicate_type"],
        "predicate": rendered["predicate"],
    }
    ca = ChainloopCA()
    reply = _import(env, ca.sign(statement), ca.pem().decode())
    assert reply.status_code == 201, reply.text
    run = reply.json()["run"]
    assert (run["project"], run["workflow"], run["runner_type"]) == (
        "chainloop",
        "skipped",
        "GITHUB_ACTION",
    )
    rows = {m["name"]: m for m in reply.json()["materials"]}
    assert rows["build-ref"]["value"] == "a-string"
    assert rows["build-ref"]["digest"] == "sha256:" + hashlib.sha256(b"a-string").hexdigest()
    assert rows["skynet-control-plane"]["output"] is True
    assert rows["skynet-control-plane"]["kind"] == "CONTAINER_IMAGE"
    assert rows["rootfs"]["filename"] == "Makefile"
    assert rows["skynet-sbom"]["uploaded"] is False
    assert run["policy_result"] == "violated"
    [evaluation] = env.get(f"/runs/{run['id']}/policy-evaluations").json()["items"]
    assert (evaluation["name"], evaluation["materialName"]) == ("sbom-freshness", "sbom")
    assert (evaluation["source"], evaluation["gate"]) == ("chainloop", False)  # ADVISORY
    assert evaluation["with"] == {"limit": "5"}
    assert evaluation["violations"][0]["message"].startswith("SBOM created at: 2020-08-02")
