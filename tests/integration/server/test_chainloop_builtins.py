"""A contract written as Chainloop's documentation shows it, naming Chainloop's built-in
policies and groups by bare name and by ``chainloop://`` reference: the CLI's init accepts
it (every policy loads, every argument is computed) and the control plane evaluates each at
push, on the evidence it holds (issue 21). SQLite and PostgreSQL.

The SBOM is cyclonedx-py's, the scan Semgrep's (tests/assets/materials); the container image
is recorded as ``attestation add`` records one (a signature found, not tagged latest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run
from tests.oidc_provider import OidcProvider, github_claims

import chainproof.core.statement as statement_mod
from chainproof.core.contract import Contract
from chainproof.policy import PolicyVerifier
from chainproof.signing import ca as ca_mod
from chainproof.signing import signer as signer_mod

MATERIALS = Path(__file__).resolve().parents[2] / "assets" / "materials"
SBOM = (MATERIALS / "sboms" / "cyclonedx-py-1.6.json").read_bytes()
SARIF = (MATERIALS / "reports" / "sarif-semgrep.sarif").read_bytes()
IMAGE_SHA = "5e" * 32
COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"

# As in Chainloop's quickstart and SLSA examples (docs/examples/quickstart,
# docs/examples/contracts/slsa), with both reference forms.
CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata:
  name: myproject-build-container-image
spec:
  materials:
    - name: container
      type: CONTAINER_IMAGE
    - name: sbom
      type: SBOM_CYCLONEDX_JSON
    - name: vulnerabilities-report
      type: SARIF
  policies:
    materials:
      - ref: artifact-signed
      - ref: chainloop://artifact-tag-not-latest
      - ref: sast
      - ref: chainloop://cwes
        with:
          cwes: CWE-89
      # Chainloop's example policies (docs/examples/policies), by name
      - ref: chainloop://cyclonedx-banned-licenses
      - ref: cyclonedx-licenses
      - ref: cyclonedx-required-packages
        with:
          packages: requests, urllib3
      - ref: sarif-errors
    attestation:
      - ref: source-commit
        with:
          check_signature: yes
      - ref: chainloop://containers-with-sbom
      - ref: runner-automated
        with:
          runner: GITHUB_ACTION
      - ref: chainloop://runner-authenticated
      - ref: commits-signed-required
  policyGroups:
    - ref: slsa-checks
    - ref: chainloop://vulnerability-management
    - ref: sbom-quality
      with:
        bannedComponents: urllib3@2.8.0
        bannedLicenses: AGPL-1.0-only, AGPL-1.0-or-later, AGPL-3.0-only, AGPL-3.0-or-later
"""


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with OidcProvider() as provider:
        yield provider


def _setup(env: Env) -> None:
    assert env.post("/projects", {"name": "p"}).status_code == 201
    reply = env.post("/contracts", {"name": "chainloop", "raw": CONTRACT})
    assert reply.status_code == 201, reply.text
    reply = env.post("/workflows", {"name": "build", "project": "p", "contract": "chainloop"})
    assert reply.status_code == 201, reply.text


def _material(name: str, kind: str, digest: str, **annotations: str) -> dict[str, Any]:
    return {
        "name": name,
        "digest": {"sha256": digest},
        "annotations": {
            "chainproof.material.name": name,
            "chainproof.material.kind": kind,
            **{f"chainproof.material.{k}": v for k, v in annotations.items()},
        },
    }


def _statement(env: Env, init: dict[str, Any]) -> dict[str, Any]:
    run, wf = init["run"], init["workflow"]
    image = _material(
        "container",
        "CONTAINER_IMAGE",
        IMAGE_SHA,
        **{
            "image.tag": "v1.2.0",
            "image.is_latest_tag": "false",
            "signature.digest": "sha256:" + "71" * 32,
        },
    )
    image["name"] = "ghcr.io/acme/shop"
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "ghcr.io/acme/shop", "digest": {"sha256": IMAGE_SHA}},
            {"name": "git.head", "digest": {"sha1": COMMIT}},
        ],
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
            "runner": {"type": "GITHUB_ACTION", "environment": "managed", "env": {}},
            "git": {"commit": COMMIT, "branch": "main", "dirty": False, "signature": ""},
            "materials": [
                image,
                _material("sbom", "SBOM_CYCLONEDX_JSON", _sha(SBOM), cas="true"),
                _material("vulnerabilities-report", "SARIF", _sha(SARIF), cas="true"),
            ],
            "annotations": {},
            "policyEvaluations": {},
        },
    }


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _push(env: Env, init: dict[str, Any], token: str | None = None, **extra: Any) -> dict[str, Any]:
    run_id = init["run"]["id"]
    grant = env.post("/cas/tokens", {"direction": "upload", "run_id": run_id}, token=token).json()
    for data in (SBOM, SARIF):
        put = env.client.put(
            f"/cas/v1/blobs/sha256:{_sha(data)}",
            content=data,
            headers={"Authorization": f"Bearer {grant['token']}"},
        )
        assert put.status_code in (200, 201), put.text
    signer = signer_mod.EphemeralSigner()
    uri = ca_mod.identity_uri(env.org["name"], "p", "build", run_id)
    reply = env.post("/signing/certificates", {"run_id": run_id, "csr": signer.csr(uri).decode()})
    assert reply.status_code == 200, reply.text
    chain = [c.encode() for c in reply.json()["chain"]]
    bundle = signer.sign({**_statement(env, init), **extra}, chain).to_dict()
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle}, token=token)
    assert reply.status_code == 200, reply.text  # advisory: recorded, not refused
    return dict(reply.json())


Key = tuple[str, str | None, str | None]


def _verdicts(pushed: dict[str, Any]) -> dict[Key, Any]:
    """(policy, material or None, group or None) -> "skipped" or the violation messages."""
    out: dict[Key, Any] = {}
    for e in pushed["policy_evaluations"]:
        assert e["source"] == "server"
        group = (e.get("groupReference") or {}).get("name")
        key = (e["name"], e["materialName"] or None, group)
        assert key not in out, key
        out[key] = "skipped" if e["skipped"] else [v["message"] for v in e["violations"]]
    return out


def test_chainloop_contract_is_accepted_at_init_and_evaluated_at_push(app_client: Env) -> None:
    _setup(app_client)
    init = init_run(app_client)
    assert init.status_code == 201, init.text
    # What `chainproof attestation init` does with the contract the control plane answers:
    # every policy and group loads and every `with:` is computed (an unknown name or a
    # missing required input would fail the init).
    contract = Contract.from_dict(init.json()["contract"]["spec"])
    PolicyVerifier.for_contract(contract).check_arguments()

    pushed = _push(app_client, init.json())
    verdicts = _verdicts(pushed)

    assert verdicts[("artifact-signed", "container", None)] == []
    assert verdicts[("artifact-tag-not-latest", "container", None)] == []
    assert verdicts[("sast", "vulnerabilities-report", None)] == [
        "Semgrep OSS finding sql-string-format (error) at app/db.py:6"
    ]
    assert verdicts[("cwes", "vulnerabilities-report", None)] == [
        "Semgrep OSS finding sql-string-format is CWE-89"
    ]
    assert verdicts[("vulnerabilities", "vulnerabilities-report", "vulnerability-management")] == [
        "finding sql-string-format (high) at app/db.py:6"
    ]
    assert verdicts[("sbom-banned-components", "sbom", "sbom-quality")] == [
        "component urllib3@2.8.0 is banned"
    ]
    assert verdicts[("sbom-banned-licenses", "sbom", "sbom-quality")] == []
    assert verdicts[("cyclonedx-banned-licenses", "sbom", None)] == []
    assert verdicts[("cyclonedx-licenses", "sbom", None)] == []
    assert verdicts[("cyclonedx-required-packages", "sbom", None)] == []
    assert verdicts[("sarif-errors", "vulnerabilities-report", None)] == [
        "Semgrep OSS finding sql-string-format (error) at app/db.py:6"
    ]
    assert verdicts[("source-commit", None, None)] == [f"commit {COMMIT} is not signed"]
    assert verdicts[("containers-with-sbom", None, None)] == []
    assert verdicts[("runner-automated", None, None)] == []
    assert verdicts[("commits-signed-required", None, None)] == [f"commit {COMMIT} is not signed"]
    # An API token started the run: no verified CI identity.
    assert verdicts[("runner-authenticated", None, None)] == [
        "the run was not started with a verified CI identity (an API token or a user started "
        "it); see chainproof ci-identity"
    ]
    # the groups' own: slsa-checks without arguments (any CI runner, signature not required)
    assert verdicts[("runner-automated", None, "slsa-checks")] == []
    assert verdicts[("source-commit", None, "slsa-checks")] == []
    assert verdicts[("sbom-present", None, "sbom-quality")] == []
    assert verdicts[("sbom-ntia", "sbom", "sbom-quality")] != "skipped"
    uris = {e["name"]: e["policyReference"]["uri"] for e in pushed["policy_evaluations"]}
    assert uris["artifact-tag-not-latest"] == "chainproof://builtin/artifact-tag-not-latest"
    assert uris["runner-authenticated"] == "chainproof://builtin/runner-authenticated"
    assert uris["sarif-errors"] == "chainproof://builtin/sarif-errors"


def test_runner_authenticated_passes_for_a_verified_ci_identity(
    app_client: Env, idp: OidcProvider
) -> None:
    _setup(app_client)
    body = {
        "name": "shop-release",
        "provider": "github",
        "issuer": idp.issuer,
        "project": "p",
        "workflow": "build",
        "rules": ["repository == cyberdyne/skynet"],
    }
    assert app_client.post("/ci-identities", body).status_code == 201
    exchange = {
        "org": app_client.org["name"],
        "id_token": idp.mint(github_claims("cyberdyne/skynet")),
    }
    reply = app_client.client.post("/api/v1/ci-identities/exchange", json=exchange)
    assert reply.status_code == 200, reply.text
    token = reply.json()["token"]
    init = init_run(app_client, token=token)
    assert init.status_code == 201, init.text
    verdicts = _verdicts(_push(app_client, init.json(), token=token))
    assert verdicts[("runner-authenticated", None, None)] == []


def test_a_forged_identity_in_the_statement_is_not_believed(app_client: Env) -> None:
    """``input.chainproof`` is the control plane's: a job that writes one into its statement
    does not make runner-authenticated pass."""
    _setup(app_client)
    init = init_run(app_client).json()
    forged = {"chainproof": {"ci_identity": {"name": "forged"}}}
    verdicts = _verdicts(_push(app_client, init, **forged))
    assert verdicts[("runner-authenticated", None, None)] != []
