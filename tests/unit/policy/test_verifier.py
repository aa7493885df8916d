"""Which policies a contract applies to a material or the attestation; loading references."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.core.contract import Contract
from chainproof.core.materials import craft
from chainproof.errors import PolicyError
from chainproof.policy import PolicyLoader, PolicyVerifier, RegoEngine

ASSETS = Path(__file__).resolve().parents[2] / "assets"
USER = ASSETS / "policies" / "user"
INPUTS = ASSETS / "policies" / "inputs"


@pytest.fixture(scope="module")
def engine() -> Iterator[RegoEngine]:
    with RegoEngine() as engine:
        yield engine


def verifier(engine: RegoEngine, contract: str, **kwargs: object) -> PolicyVerifier:
    parsed = Contract.parse(contract, source="contract.yaml")
    loader = PolicyLoader(base_dir=USER)
    return PolicyVerifier.for_contract(parsed, loader=loader, engine=engine, **kwargs)  # type: ignore[arg-type]


CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {type: SBOM_CYCLONEDX_JSON, name: sbom}
    - {type: SBOM_CYCLONEDX_JSON, name: sbom-extra, optional: true}
    - {type: EVIDENCE, name: scan}
  policies:
    materials:
      - ref: sbom-ntia
      - ref: sbom-banned-licenses
        with: {licenses: "GPL-3.0-only", typo: x}
        gate: true
        requirements: [acme/sbom-licenses]
      - ref: chainloop://sbom-freshness
        selector: {name: sbom-ex, match_mode: PREFIX}
      - ref: file://multi-kind.yaml
        disabled: true
    attestation:
      - ref: runner-ci
      - ref: sbom-present
"""


def test_material_policies_match_kind_selector_and_disabled(engine: RegoEngine) -> None:
    v = verifier(engine, CONTRACT)
    names = [b.policy.name for b in v.material_policies("sbom", "SBOM_CYCLONEDX_JSON")]
    assert names == ["sbom-ntia", "sbom-banned-licenses"]
    extra = [b.policy.name for b in v.material_policies("sbom-extra", "SBOM_CYCLONEDX_JSON")]
    assert extra == ["sbom-ntia", "sbom-banned-licenses", "sbom-freshness"]
    assert v.material_policies("scan", "EVIDENCE") == []


def test_verify_material_records_what_each_policy_said(engine: RegoEngine) -> None:
    warnings: list[str] = []
    v = verifier(engine, CONTRACT, warn=warnings.append)
    material = craft("sbom", str(INPUTS / "cyclonedx-ntia-complete.json"), "SBOM_CYCLONEDX_JSON")
    ntia, licenses = v.verify_material(material)
    assert ntia.passed and ntia.material_name == "sbom"
    assert ntia.reference["uri"] == "chainproof://builtin/sbom-ntia"
    assert licenses.gate is True and licenses.requirements == ("acme/sbom-licenses",)
    assert licenses.args == {"licenses": "GPL-3.0-only"}
    assert [x.message for x in licenses.violations] == [
        "component urllib3@2.2.3 has banned license(s): GPL-3.0-only"
    ]
    assert warnings == [
        "argument 'typo' is not an input of policy sbom-banned-licenses; ignoring it"
    ]
    record = licenses.to_dict()
    assert record["materialName"] == "sbom" and record["type"] == "SBOM_CYCLONEDX_JSON"
    assert record["violations"][0]["subject"] == "sbom-banned-licenses"
    assert record["gate"] is True
    assert type(licenses).from_dict(json.loads(json.dumps(record))) == licenses


def test_attestation_policies_run_on_the_statement(engine: RegoEngine) -> None:
    v = verifier(engine, CONTRACT)
    statement = json.loads((INPUTS / "statement-local.json").read_text())
    runner, present = v.verify_statement(statement, phase="PUSH")
    assert runner.name == "runner-ci" and runner.material_name is None
    assert runner.kind == "ATTESTATION" and runner.violations
    assert "no SBOM" in present.violations[0].message
    # sbom-present asks for PUSH only; runner-ci (no phases) runs at every phase
    assert [b.policy.name for b in v.statement_policies("INIT")] == ["runner-ci"]


GROUP_CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {type: SBOM_CYCLONEDX_JSON, name: app-sbom}
    - {type: EVIDENCE, name: scan}
  policyGroups:
    - ref: file://group.yaml
      with: {sbom: app-sbom, banned: "MIT, GPL-3.0-only"}
      skip: [git-commit-clean]
      gate: false
"""


def test_policy_group_binds_its_inputs_and_skips(engine: RegoEngine) -> None:
    v = verifier(engine, GROUP_CONTRACT)
    bound = v.material_policies("app-sbom", "SBOM_CYCLONEDX_JSON")
    assert [b.policy.name for b in bound] == ["sbom-banned-licenses", "sbom-has-components"]
    assert v.material_policies("sbom", "SBOM_CYCLONEDX_JSON") == []  # the default is overridden
    material = craft(
        "app-sbom", str(INPUTS / "cyclonedx-ntia-complete.json"), "SBOM_CYCLONEDX_JSON"
    )
    licenses, components = v.verify_material(material)
    assert licenses.args == {"licenses": "MIT, GPL-3.0-only"}
    assert len(licenses.violations) == 1  # urllib3: MIT OR GPL-3.0-only
    assert licenses.group is not None and licenses.group["name"] == "release-checks"
    assert licenses.gate is False  # from the group attachment
    assert components.passed
    assert [b.policy.name for b in v.statement_policies("PUSH")] == ["runner-ci"]


def test_group_without_its_required_input_is_an_error(engine: RegoEngine) -> None:
    v = verifier(engine, GROUP_CONTRACT.replace('banned: "MIT, GPL-3.0-only"', "x: y"))
    with pytest.raises(PolicyError, match="policy release-checks: missing required input 'banned'"):
        v.material_policies("app-sbom", "SBOM_CYCLONEDX_JSON")


def test_embedded_policy_attachment(engine: RegoEngine) -> None:
    contract = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: c}
spec:
  policies:
    materials:
      - embedded:
          apiVersion: chainloop.dev/v1
          kind: Policy
          metadata: {name: inline}
          spec:
            policies:
              - kind: EVIDENCE
                embedded: |
                  package inline
                  import rego.v1
                  violations contains "always" if true
"""
    v = verifier(engine, contract)
    evidence = craft("notes", str(INPUTS / "not-a-report.json"), "EVIDENCE")
    (evaluation,) = v.verify_material(evidence)
    assert evaluation.name == "inline" and "uri" not in evaluation.reference


def test_loader_references(tmp_path: Path) -> None:
    fetched: list[str] = []
    document = (USER / "legacy.yaml").read_bytes()

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return document

    loader = PolicyLoader(base_dir=USER, fetch=fetch)
    policy, ref = loader.load("https://policies.example/legacy.yaml")
    assert policy.name == "legacy-form" and ref.uri == "https://policies.example/legacy.yaml"
    digest = hashlib.sha256(document).hexdigest()
    assert loader.load(f"https://policies.example/legacy.yaml@sha256:{digest}")[1].digest == digest
    with pytest.raises(PolicyError, match="not the pinned sha256:"):
        loader.load("https://policies.example/legacy.yaml@sha256:" + "0" * 64)
    assert fetched == ["https://policies.example/legacy.yaml"] * 3
    assert loader.load("file://multi-kind.yaml")[0].name == "sbom-has-components"
    with pytest.raises(PolicyError, match="unknown policy 'nope'; built-in policies: "):
        loader.load("nope")
    with pytest.raises(PolicyError, match="unsupported policy reference"):
        loader.load("s3://bucket/p.yaml")
    with pytest.raises(PolicyError, match="cannot read policy file"):
        loader.load("file://missing.yaml")
    with pytest.raises(PolicyError, match="is a PolicyGroup, not a Policy"):
        loader.policy({"ref": "sbom-quality"})


def test_builtin_sbom_quality_group(engine: RegoEngine) -> None:
    contract = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: c}
spec:
  materials:
    - {type: SBOM_SPDX_JSON, name: bom}
  policyGroups:
    - ref: sbom-quality
      with: {sbom_name: bom, banned_licenses: "AGPL-3.0-only", max_age_days: "36500"}
"""
    v = verifier(engine, contract)
    material = craft("bom", str(INPUTS / "spdx-ntia-complete.json"), "SBOM_SPDX_JSON")
    ntia, fresh, licenses, components = v.verify_material(material)
    assert ntia.passed and fresh.passed and components.passed
    assert [x.message for x in licenses.violations] == [
        "package express@4.21.1 has banned license(s): AGPL-3.0-only"
    ]
    assert fresh.args == {"max_age_days": "36500"}
    statement = json.loads((INPUTS / "statement-ci.json").read_text())
    (present,) = v.verify_statement(statement)
    assert present.name == "sbom-present" and present.passed
    skipped = v.verify_statement(json.loads((INPUTS / "not-a-statement.json").read_text()))
    assert skipped[0].skipped
