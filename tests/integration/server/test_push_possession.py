"""Push references only blobs its run uploaded or its token can read (docs/cas.md).

Issue 15: a robot scoped to one workflow put another workflow's blob digest in its own
statement and pushed; push accepted any digest its organisation held, and the run then
granted the robot the download. SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow
from tests.integration.server.test_push import _statement

import chainproof.signing.ca as ca_mod
import chainproof.signing.signer as signer_mod

SECRET = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ["secret"]}\n'
SECRET_DIGEST = "sha256:" + hashlib.sha256(SECRET).hexdigest()


def _two_workflows(env: Env) -> tuple[str, str]:
    """Workflows ``build`` and ``other`` of project ``p``; a robot scoped to each."""
    setup_workflow(env, contract="contract-artifact.yaml")
    reply = env.post("/workflows", {"name": "other", "project": "p", "contract": "p-c"})
    assert reply.status_code == 201, reply.text
    return env.robot("a", project="p", workflow="build"), env.robot(
        "b", project="p", workflow="other"
    )


def _cas_put(env: Env, run_id: str, token: str, data: bytes) -> int:
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id}, token=token)
    assert grant.status_code == 200, grant.text
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {grant.json()['token']}"}
    put = env.client.put(f"/cas/v1/blobs/{digest}", content=data, headers=auth)
    assert put.status_code in (200, 201), put.text
    return int(put.status_code)


def _push(env: Env, token: str, workflow: str) -> tuple[str, Any, Any]:
    """Start a run of ``workflow``; a push callable (statement naming SECRET's digest)."""
    init = init_run(env, token=token, workflow=workflow)
    assert init.status_code == 201, init.text
    body = init.json()
    run_id = body["run"]["id"]
    statement = _statement(env, body)
    (material,) = statement["predicate"]["materials"]
    material["digest"] = {"sha256": SECRET_DIGEST.removeprefix("sha256:")}

    def push() -> Any:
        signer = signer_mod.EphemeralSigner()
        uri = ca_mod.identity_uri(env.org["name"], "p", workflow, run_id)
        csr = {"run_id": run_id, "csr": signer.csr(uri).decode()}
        cert = env.post("/signing/certificates", csr, token=token)
        assert cert.status_code == 200, cert.text
        chain = [c.encode() for c in cert.json()["chain"]]
        bundle = signer.sign(statement, chain).to_dict()
        return env.post(f"/runs/{run_id}/attestation", {"bundle": bundle}, token=token)

    return run_id, push, body


def _download(env: Env, token: str) -> Any:
    return env.post("/cas/tokens", {"direction": "download", "digest": SECRET_DIGEST}, token=token)


def test_push_naming_a_blob_of_another_workflow_is_refused(app_client: Env) -> None:
    robot_a, robot_b = _two_workflows(app_client)
    run_a, push_a, _ = _push(app_client, robot_a, "build")
    assert _cas_put(app_client, run_a, robot_a, SECRET) == 201
    assert push_a().status_code == 200
    assert _download(app_client, robot_b).status_code == 404

    run_b, push_b, _ = _push(app_client, robot_b, "other")
    refused = push_b()
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "verification_failed"
    assert "material binary" in problem["detail"] and SECRET_DIGEST in problem["detail"]
    assert f"not uploaded by run {run_b}" in problem["detail"]
    assert app_client.get(f"/runs/{run_b}").json()["status"] == "initialized"
    assert _download(app_client, robot_b).status_code == 404

    # The run's upload token does not reveal that the organisation holds the digest ...
    grant = app_client.post("/cas/tokens", {"direction": "upload", "run_id": run_b}, token=robot_b)
    auth = {"Authorization": f"Bearer {grant.json()['token']}"}
    assert app_client.client.head(f"/cas/v1/blobs/{SECRET_DIGEST}", headers=auth).status_code == 404
    # ... and knowing it is not enough: other bytes under that digest are refused.
    wrong = app_client.client.put(f"/cas/v1/blobs/{SECRET_DIGEST}", content=b"guess", headers=auth)
    assert wrong.status_code == 422, wrong.text
    assert push_b().status_code == 422

    # Robot B holding the same bytes uploads them for its run (stored once: 200) and pushes.
    assert _cas_put(app_client, run_b, robot_b, SECRET) == 200
    assert app_client.client.head(f"/cas/v1/blobs/{SECRET_DIGEST}", headers=auth).status_code == 200
    accepted = push_b()
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["materials"][0]["uploaded"] is True
    assert _download(app_client, robot_b).status_code == 200


def test_push_naming_a_blob_the_token_can_read_needs_no_upload(app_client: Env) -> None:
    robot_a, _ = _two_workflows(app_client)
    run_a, push_a, _ = _push(app_client, robot_a, "build")
    _cas_put(app_client, run_a, robot_a, SECRET)
    assert push_a().status_code == 200
    # A later run of the same workflow reads the blob through run A: no upload needed.
    _, push_again, _ = _push(app_client, robot_a, "build")
    assert push_again().status_code == 200
    # The owner reads every run of the organisation.
    _, push_owner, _ = _push(app_client, app_client.token, "other")
    assert push_owner().status_code == 200
