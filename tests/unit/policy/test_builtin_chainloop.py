"""The built-ins under Chainloop's names and arguments (docs/policies.md, "Chainloop's
built-in policies"), on real documents: chainproof and Chainloop statements, CodeQL and ruff
SARIF, SBOMs made by cyclonedx-py and cdxgen, container images as ``attestation add`` records
them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainproof.core.contract import Contract
from chainproof.policy import PolicyEvaluation, PolicyVerifier, RegoEngine, builtin
from chainproof.policy.document import Policy, PolicyGroup

from .test_builtin import CASES as OWN_CASES
from .test_builtin import INPUTS, PASS, SKIP, VIOLATE, evaluate
from .test_builtin_chainloop_examples import CASES as EXAMPLE_CASES

ASSETS = Path(__file__).resolve().parents[2] / "assets"
IMAGE = "ghcr.io/acme/shop"


@pytest.fixture(scope="module")
def verifier() -> Iterator[PolicyVerifier]:
    with RegoEngine() as engine:
        yield PolicyVerifier(engine=engine)


CASES: list[tuple[str, str, str | None, dict[str, str], str, str]] = [
    # source-commit
    ("source-commit", "ATTESTATION", INPUTS + "statement-ci.json", {}, PASS, ""),
    (
        "source-commit",
        "ATTESTATION",
        INPUTS + "statement-ci.json",
        {"check_signature": "yes"},
        VIOLATE,
        "commit 3f786850e387550fdab836ed7e6dc881de23001b is not signed",
    ),
    (
        "source-commit",
        "ATTESTATION",
        INPUTS + "statement-signed.json",
        {"check_signature": "true"},
        PASS,
        "",
    ),
    (
        "source-commit",
        "ATTESTATION",
        INPUTS + "statement-no-git.json",
        {},
        VIOLATE,
        "records no git commit",
    ),
    (
        "source-commit",
        "ATTESTATION",
        INPUTS + "statement-ci.json",
        {"check_signature": "maybe"},
        VIOLATE,
        "check_signature must be yes or no, not maybe",
    ),
    ("source-commit", "ATTESTATION", INPUTS + "not-a-statement.json", {}, SKIP, "attestation"),
    # commits-signed-required (attestation script)
    ("commits-signed-required", "ATTESTATION", INPUTS + "statement-signed.json", {}, PASS, ""),
    (
        "commits-signed-required",
        "ATTESTATION",
        INPUTS + "statement-ci.json",
        {"branches": "main"},
        VIOLATE,
        "is not signed",
    ),
    (
        "commits-signed-required",
        "ATTESTATION",
        INPUTS + "statement-ci.json",
        {"branches": "release, develop"},
        SKIP,
        "branch main is not one of develop, release",
    ),
    # runner-automated
    ("runner-automated", "ATTESTATION", INPUTS + "statement-ci.json", {}, PASS, ""),
    (
        "runner-automated",
        "ATTESTATION",
        INPUTS + "statement-ci.json",
        {"runner": "GITHUB_ACTION", "environment": "managed"},
        PASS,
        "",
    ),
    (
        "runner-automated",
        "ATTESTATION",
        INPUTS + "statement-signed.json",
        {"runner": "GITHUB_ACTION"},
        VIOLATE,
        "runner type GITLAB_PIPELINE, not GITHUB_ACTION",
    ),
    (
        "runner-automated",
        "ATTESTATION",
        INPUTS + "statement-signed.json",
        {"environment": "managed"},
        VIOLATE,
        "the runner environment is self-hosted, not managed",
    ),
    ("runner-automated", "ATTESTATION", INPUTS + "statement-local.json", {}, VIOLATE, "GENERIC"),
    (
        "runner-automated",
        "ATTESTATION",
        INPUTS + "chainloop-envelope-v0.2.json",
        {"runner": "github_action"},
        VIOLATE,
        "runner type RUNNER_TYPE_UNSPECIFIED (a local shell or an unknown CI)",
    ),
    ("runner-automated", "ATTESTATION", INPUTS + "not-a-statement.json", {}, SKIP, "attestation"),
    # runner-authenticated: the CLI cannot judge it (the control plane adds input.chainproof)
    (
        "runner-authenticated",
        "ATTESTATION",
        INPUTS + "statement-ci.json",
        {},
        SKIP,
        "only the control plane knows",
    ),
    # containers-with-sbom
    ("containers-with-sbom", "ATTESTATION", INPUTS + "statement-ci.json", {}, PASS, ""),
    ("containers-with-sbom", "ATTESTATION", INPUTS + "chainloop-envelope-v0.2.json", {}, PASS, ""),
    (
        "containers-with-sbom",
        "ATTESTATION",
        INPUTS + "statement-local.json",
        {},
        VIOLATE,
        "container image(s) image have no SBOM in the attestation",
    ),
    (
        "containers-with-sbom",
        "ATTESTATION",
        INPUTS + "statement-signed.json",
        {},
        VIOLATE,
        "2 container images but only 1 SBOM(s)",
    ),
    (
        "containers-with-sbom",
        "ATTESTATION",
        INPUTS + "statement-no-git.json",
        {},
        SKIP,
        "the attestation has no container image",
    ),
    # sast: CodeQL and ruff SARIF
    (
        "sast",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
        {},
        VIOLATE,
        "CodeQL finding py/sql-injection (error) at app/db.py:42",
    ),
    (
        "sast",
        "SARIF",
        "materials/reports/sarif-ruff.sarif",
        {"rules": "S602"},
        VIOLATE,
        "ruff finding S602 (error) at file:///home/runner/work/calc/pkg/calc.py:16",
    ),
    ("sast", "SARIF", "materials/reports/sarif-ruff.sarif", {"rules": "E501"}, PASS, ""),
    (
        "sast",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
        {"severity": "note"},
        VIOLATE,
        "CodeQL finding py/unused-import (note)",
    ),
    ("sast", "SARIF", INPUTS + "not-a-report.json", {}, SKIP, "SARIF"),
    # cwes: CodeQL's external/cwe tags
    (
        "cwes",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
        {"cwes": "CWE-89"},
        VIOLATE,
        "CodeQL finding py/sql-injection is CWE-89",
    ),
    ("cwes", "SARIF", "materials/reports/sarif-codeql.sarif", {"cwes": "79, CWE-798"}, PASS, ""),
    (
        "cwes",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
        {},
        VIOLATE,
        "is CWE-89",
    ),
    ("cwes", "SARIF", "materials/reports/sarif-ruff.sarif", {}, PASS, ""),
    ("cwes", "SARIF", INPUTS + "not-a-report.json", {}, SKIP, "SARIF"),
    # sbom-banned-components: cyclonedx-py, cdxgen, SPDX
    (
        "sbom-banned-components",
        "SBOM_CYCLONEDX_JSON",
        "materials/sboms/cyclonedx-py-1.6.json",
        {"components": "urllib3@2.8.0, log4j-core"},
        VIOLATE,
        "component urllib3@2.8.0 is banned",
    ),
    (
        "sbom-banned-components",
        "SBOM_CYCLONEDX_JSON",
        "materials/sboms/cyclonedx-py-1.6.json",
        {"components": "urllib3@1.0.0, log4j-core"},
        PASS,
        "",
    ),
    (
        "sbom-banned-components",
        "SBOM_CYCLONEDX_JSON",
        "materials/sboms/cdxgen-1.7.json",
        {"components": "pkg:npm/is-number"},
        VIOLATE,
        "component is-number@7.0.0 is banned",
    ),
    (
        "sbom-banned-components",
        "SBOM_SPDX_JSON",
        INPUTS + "spdx-ntia-complete.json",
        {"components": "express"},
        VIOLATE,
        "package express@4.21.1 is banned",
    ),
    (
        "sbom-banned-components",
        "SBOM_SPDX_JSON",
        INPUTS + "not-a-report.json",
        {"components": "x"},
        SKIP,
        "SPDX",
    ),
]


@pytest.mark.parametrize(
    ("policy", "kind", "file", "args", "outcome", "fragment"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[4]}-{i}" for i, c in enumerate(CASES)],
)
def test_chainloop_builtin(
    verifier: PolicyVerifier,
    policy: str,
    kind: str,
    file: str,
    args: dict[str, str],
    outcome: str,
    fragment: str,
) -> None:
    check(evaluate(verifier, policy, kind, file, args), outcome, fragment)


def check(evaluation: PolicyEvaluation, outcome: str, fragment: str) -> None:
    messages = [v.message for v in evaluation.violations]
    if outcome == PASS:
        assert evaluation.passed, messages or evaluation.skip_reasons
    elif outcome == VIOLATE:
        assert not evaluation.skipped
        assert any(fragment in m for m in messages), messages
    else:
        assert evaluation.skipped and not messages
        assert any(fragment in r for r in evaluation.skip_reasons), evaluation.skip_reasons


def image(annotations: dict[str, str]) -> dict[str, Any]:
    """A container image's input as ``attestation add`` makes it (chainloop_metadata only)."""
    prefixed = {f"chainloop.material.{k}": v for k, v in annotations.items()}
    descriptor = {"name": IMAGE, "digest": {"sha256": "ab" * 32}, "annotations": prefixed}
    return {"chainloop_metadata": descriptor}


@pytest.mark.parametrize(
    ("policy", "annotations", "outcome", "fragment"),
    [
        ("artifact-signed", {"signature.digest": "sha256:" + "cd" * 32}, PASS, ""),
        ("artifact-signed", {"image.tag": "v1"}, VIOLATE, f"image {IMAGE} has no signature"),
        ("artifact-tag-not-latest", {"image.tag": "v1", "image.is_latest_tag": "false"}, PASS, ""),
        ("artifact-tag-not-latest", {}, PASS, ""),  # pinned by digest
        ("artifact-tag-not-latest", {"image.tag": "latest"}, VIOLATE, "by its latest tag"),
        (
            "artifact-tag-not-latest",
            {"image.tag": "v1", "image.is_latest_tag": "true"},
            VIOLATE,
            "is the image tagged latest (tag v1)",
        ),
    ],
)
def test_container_image_policies(
    verifier: PolicyVerifier,
    policy: str,
    annotations: dict[str, str],
    outcome: str,
    fragment: str,
) -> None:
    doc = builtin.load(policy)
    assert isinstance(doc, Policy)
    evaluation = verifier.evaluate(doc, "CONTAINER_IMAGE", image(annotations), args={})
    assert evaluation is not None
    check(evaluation, outcome, fragment)


def test_artifact_signed_on_a_helm_chart(verifier: PolicyVerifier) -> None:
    doc = builtin.load("artifact-signed")
    assert isinstance(doc, Policy)
    evaluation = verifier.evaluate(doc, "HELM_CHART", image({}), args={})
    assert evaluation is not None
    check(evaluation, VIOLATE, "has no signature recorded")


def statement_with(identity: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ASSETS / INPUTS / "statement-ci.json").read_text())
    data["chainproof"] = {"ci_identity": identity}
    return data


@pytest.mark.parametrize(
    ("identity", "outcome"),
    [({"name": "shop-release", "provider": "github"}, PASS), (None, VIOLATE)],
)
def test_runner_authenticated_reads_what_the_control_plane_adds(
    verifier: PolicyVerifier, identity: dict[str, Any] | None, outcome: str
) -> None:
    doc = builtin.load("runner-authenticated")
    assert isinstance(doc, Policy)
    evaluation = verifier.evaluate(doc, "ATTESTATION", statement_with(identity), args={})
    assert evaluation is not None
    check(evaluation, outcome, "not started with a verified CI identity")


def test_commits_signed_required_on_a_runner_context(verifier: PolicyVerifier) -> None:
    doc = builtin.load("commits-signed-required")
    assert isinstance(doc, Policy)
    context: dict[str, Any] = {
        "schema_version": "1",
        "runner": {"type": "GITHUB_ACTION", "environment": "managed"},
        "git": {"commit": "3f786850e387550fdab836ed7e6dc881de23001b", "dirty": False},
        "repository": {"branch_protected": True},
    }
    context["git"]["branch"] = "main"

    def run(args: dict[str, str]) -> PolicyEvaluation:
        found = verifier.evaluate(doc, "RUNNER_CONTEXT", json.loads(json.dumps(context)), args=args)
        assert found is not None
        return found

    check(run({}), SKIP, "says nothing about required signatures")
    context["repository"]["required_signatures"] = False
    check(run({"branches": "main"}), VIOLATE, "does not require signed commits on branch main")
    check(run({"branches": "release"}), SKIP, "branch main is not one of release")
    context["repository"]["required_signatures"] = True
    check(run({}), PASS, "")


# -- groups: Chainloop's arguments, through a contract as the CLI evaluates it ------------
def contract(groups: str) -> Contract:
    text = f"""
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {{name: dropin}}
spec:
  materials:
    - {{name: app-sbom, type: SBOM_CYCLONEDX_JSON}}
    - {{name: vuln-scan, type: SARIF}}
  policyGroups:
{groups}
"""
    return Contract.parse(text, source="contract")


def group_results(
    engine: RegoEngine, groups: str, name: str, kind: str, file: str
) -> dict[str, Any]:
    from chainproof.policy.content import evaluable_content

    verifier = PolicyVerifier.for_contract(contract(groups), engine=engine)
    verifier.check_arguments()
    bound = verifier.material_policies(name, kind)
    data = evaluable_content(kind, (ASSETS / file).read_bytes(), descriptor={"name": name})
    out: dict[str, Any] = {}
    for b in bound:
        found = verifier.evaluate_bound(b, kind, data, material_name=name)
        assert found is not None
        out[found.name] = [v.message for v in found.violations]
    return out


def test_sbom_quality_takes_chainloops_arguments(verifier: PolicyVerifier) -> None:
    groups = """    - ref: sbom-quality
      with:
        bannedComponents: urllib3@2.8.0
        bannedLicenses: AGPL-1.0-only, AGPL-3.0-only, Apache-2.0
"""
    found = group_results(
        verifier.engine,
        groups,
        "app-sbom",
        "SBOM_CYCLONEDX_JSON",
        "materials/sboms/cyclonedx-py-1.6.json",
    )
    assert set(found) == {
        "sbom-ntia",
        "sbom-freshness",
        "sbom-banned-licenses",
        "sbom-banned-components",
    }
    assert found["sbom-banned-components"] == ["component urllib3@2.8.0 is banned"]
    assert any("Apache-2.0" in m for m in found["sbom-banned-licenses"])


def test_sbom_quality_without_arguments_bans_nothing(verifier: PolicyVerifier) -> None:
    found = group_results(
        verifier.engine,
        "    - ref: chainloop://sbom-quality\n",
        "app-sbom",
        "SBOM_CYCLONEDX_JSON",
        "materials/sboms/cyclonedx-py-1.6.json",
    )
    assert found["sbom-banned-licenses"] == [] and found["sbom-banned-components"] == []


def test_sbom_quality_by_name_selects_only_that_sbom(verifier: PolicyVerifier) -> None:
    groups = "    - {ref: sbom-quality, with: {sbom_name: other-sbom}}\n"
    verifier_ = PolicyVerifier.for_contract(contract(groups), engine=verifier.engine)
    assert verifier_.material_policies("app-sbom", "SBOM_CYCLONEDX_JSON") == []
    assert len(verifier_.material_policies("other-sbom", "SBOM_CYCLONEDX_JSON")) == 4


def test_vulnerability_management_checks_every_scan(verifier: PolicyVerifier) -> None:
    found = group_results(
        verifier.engine,
        "    - ref: vulnerability-management\n",
        "vuln-scan",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
    )
    assert found == {
        "vulnerabilities": [
            "finding py/sql-injection (high) at app/db.py:42",
            "finding py/sql-injection (high)",
        ]
    }
    found = group_results(
        verifier.engine,
        "    - {ref: vulnerability-management, with: {severity: critical}}\n",
        "vuln-scan",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
    )
    assert found == {"vulnerabilities": []}


def test_slsa_checks_runs_on_the_attestation(verifier: PolicyVerifier) -> None:
    groups = "    - {ref: slsa-checks, with: {runner: GITHUB_ACTION, environment: managed}}\n"
    verifier_ = PolicyVerifier.for_contract(contract(groups), engine=verifier.engine)
    verifier_.check_arguments()
    data = json.loads((ASSETS / INPUTS / "statement-signed.json").read_text())
    results = {}
    for b in verifier_.statement_policies(None):
        found = verifier_.evaluate_bound(b, "ATTESTATION", data)
        assert found is not None
        results[found.name] = [v.message for v in found.violations]
    assert results == {
        "runner-automated": [
            "the attestation was made on runner type GITLAB_PIPELINE, not GITHUB_ACTION",
            "the runner environment is self-hosted, not managed",
        ],
        "source-commit": [],
    }


def test_every_chainloop_name_is_a_builtin() -> None:
    policies = {
        "source-commit",
        "artifact-signed",
        "artifact-tag-not-latest",
        "sbom-present",
        "containers-with-sbom",
        "vulnerabilities",
        "sast",
        "cwes",
        "runner-automated",
        "runner-authenticated",
        "commits-signed-required",
    }
    groups = {"slsa-checks", "sbom-quality", "vulnerability-management"}
    for name in policies:
        assert isinstance(builtin.load(name), Policy)
    for name in groups:
        assert isinstance(builtin.load(name), PolicyGroup)


def test_every_builtin_has_cases() -> None:
    """Every built-in is exercised here, in test_builtin.py or in
    test_builtin_chainloop_examples.py (the groups by the tests above and test_builtin.py's
    container-allowed-registries test)."""
    covered = {c[0] for c in [*OWN_CASES, *CASES, *EXAMPLE_CASES]} | {
        "container-allowed-registries",
        "artifact-signed",
        "artifact-tag-not-latest",
        "runner-authenticated",
        "sbom-quality",
        "slsa-checks",
        "vulnerability-management",
    }
    assert covered == set(builtin.names())


SEMGREP = "materials/reports/sarif-semgrep.sarif"  # real Semgrep 1.185.0 output


@pytest.mark.parametrize(
    ("policy", "args", "expected"),
    [
        ("sast", {}, ["Semgrep OSS finding sql-string-format (error) at app/db.py:6"]),
        (
            "sast",
            {"severity": "warning"},
            [
                "Semgrep OSS finding sql-string-format (error) at app/db.py:6",
                "Semgrep OSS finding subprocess-shell-true (warning) at app/db.py:10",
            ],
        ),
        ("cwes", {"cwes": "CWE-78"}, ["Semgrep OSS finding subprocess-shell-true is CWE-78"]),
        ("cwes", {"cwes": "CWE-79"}, []),
        (
            "vulnerabilities",
            {"severity": "medium"},
            [
                "finding sql-string-format (high) at app/db.py:6",
                "finding subprocess-shell-true (medium) at app/db.py:10",
            ],
        ),
    ],
)
def test_on_semgrep_sarif(
    verifier: PolicyVerifier, policy: str, args: dict[str, str], expected: list[str]
) -> None:
    found = evaluate(verifier, policy, "SARIF", SEMGREP, args)
    assert not found.skipped
    assert sorted(v.message for v in found.violations) == expected


def test_chainloop_references_with_a_pin_of_our_document() -> None:
    from chainproof.errors import PolicyError
    from chainproof.policy.loader import PolicyLoader

    digest = builtin.load("source-commit").digest
    doc, ref = PolicyLoader().load(f"chainloop://source-commit@sha256:{digest}")
    assert doc.name == "source-commit" and ref.uri == "chainproof://builtin/source-commit"
    group, _ = PolicyLoader().load("chainloop://sbom-quality")
    assert isinstance(group, PolicyGroup)
    with pytest.raises(PolicyError, match="not the pinned"):
        PolicyLoader().load("chainloop://source-commit@sha256:" + "0" * 64)
