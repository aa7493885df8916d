"""Runs pushed with an SBOM and a container image, for the discover index tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.helpers import GENERIC
from tests.integration.server.test_enforcement import _upload

import chainproof.core.statement as statement_mod
import chainproof.signing.ca as ca_mod
import chainproof.signing.signer as signer_mod
from chainproof.core.statement_materials import (
    CAS_ANNOTATION,
    KIND_ANNOTATION,
    NAME_ANNOTATION,
    OUTPUT_ANNOTATION,
    SUMMARY_ANNOTATION,
)
from chainproof.server.jobs.discover import index_once

CONTRACT = """apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: shipped}
spec:
  materials:
    - {type: SBOM_CYCLONEDX_JSON, name: sbom}
    - {type: CONTAINER_IMAGE, name: image, output: true}
"""


def cdx(*components: tuple[str, str, str, str | None]) -> bytes:
    """A CycloneDX JSON BOM of ``(purl type/namespace/name, name, version, license)``."""
    items = []
    for path, name, version, license_ in components:
        item: dict[str, Any] = {
            "type": "library",
            "name": name,
            "version": version,
            "purl": f"pkg:{path}@{version}",
        }
        if license_:
            item["licenses"] = [{"license": {"id": license_}}]
        items.append(item)
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": items}
    return json.dumps(doc).encode()


def image_digest(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def setup(
    env: Env,
    project: str = "shop",
    workflows: tuple[str, ...] = ("build",),
    sbom_kind: str = "SBOM_CYCLONEDX_JSON",
) -> None:
    assert env.post("/projects", {"name": project}).status_code == 201
    raw = CONTRACT.replace("SBOM_CYCLONEDX_JSON", sbom_kind)
    reply = env.post("/contracts", {"name": f"{project}-c", "raw": raw})
    assert reply.status_code == 201, reply.text
    for name in workflows:
        body = {"name": name, "project": project, "contract": f"{project}-c"}
        reply = env.post("/workflows", body)
        assert reply.status_code == 201, reply.text


def _material(name: str, kind: str, digest: str, cas: bool, **extra: Any) -> dict[str, Any]:
    annotations = {NAME_ANNOTATION: name, KIND_ANNOTATION: kind, CAS_ANNOTATION: str(cas).lower()}
    if extra.get("summary"):
        annotations[SUMMARY_ANNOTATION] = json.dumps(extra["summary"], sort_keys=True)
    if extra.get("output"):
        annotations[OUTPUT_ANNOTATION] = "true"
    alg, _, hexa = digest.partition(":")
    return {"name": name, "digest": {alg: hexa}, "annotations": annotations}


def push(
    env: Env,
    sbom: bytes,
    image: str,
    *,
    project: str = "shop",
    workflow: str = "build",
    tag: str = "1.0",
    version: str | None = None,
    sbom_kind: str = "SBOM_CYCLONEDX_JSON",
    repository: str | None = None,
) -> str:
    """Init, upload the SBOM, sign and push a run (``repository``: the image's, else a
    made-up one under registry.example.com); its id."""
    body: dict[str, Any] = {"workflow": workflow, "project": project, "runner": GENERIC}
    if version:
        body["project_version"] = version
    reply = env.post("/runs", body)
    assert reply.status_code == 201, reply.text
    init = reply.json()
    run_id, wf = init["run"]["id"], init["workflow"]
    _upload(env, run_id, sbom)
    sbom_digest = "sha256:" + hashlib.sha256(sbom).hexdigest()
    repository = repository or f"registry.example.com/{project}/{workflow}"
    summary = {"repository": repository, "tag": tag, "digest": image}
    materials = [
        _material("image", "CONTAINER_IMAGE", image, False, summary=summary, output=True),
        _material("sbom", sbom_kind, sbom_digest, True),
    ]
    alg, _, hexa = image.partition(":")
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": repository, "digest": {alg: hexa}}],
        "predicateType": statement_mod.PREDICATE_TYPE,
        "predicate": {
            "workflow": {
                "org": env.org["name"],
                "project": wf["project"],
                "name": wf["name"],
                "workflowID": wf["id"],
                "runID": run_id,
                "contractName": init["contract"]["name"],
                "contractRevision": init["contract"]["revision"],
            },
            "materials": materials,
            "annotations": {},
            "policyEvaluations": {},
        },
    }
    signer = signer_mod.EphemeralSigner()
    uri = ca_mod.identity_uri(env.org["name"], project, workflow, run_id)
    reply = env.post("/signing/certificates", {"run_id": run_id, "csr": signer.csr(uri).decode()})
    assert reply.status_code == 200, reply.text
    bundle = signer.sign(statement, [c.encode() for c in reply.json()["chain"]]).to_dict()
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle})
    assert reply.status_code == 200, reply.text
    return str(run_id)


def index(env: Env) -> int:
    """Run the worker's discover job once, as the server's worker would."""
    return index_once(env.sessions, env.client.app.state.cas_source)
