"""Every built-in policy on passing, violating and skipped inputs (named files in tests/assets).

Inputs go through :func:`evaluable_content` as ``attestation add`` would, without the kind's
validation, so that a skip case can hand a policy content of the wrong shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainproof.policy import Policy, PolicyEvaluation, PolicyVerifier, RegoEngine, builtin
from chainproof.policy.content import evaluable_content

ASSETS = Path(__file__).resolve().parents[2] / "assets"
INPUTS = "policies/inputs/"


@pytest.fixture(scope="module")
def verifier() -> Iterator[PolicyVerifier]:
    with RegoEngine() as engine:
        yield PolicyVerifier(engine=engine)


def evaluate(
    verifier: PolicyVerifier,
    policy: str,
    kind: str,
    file: str | None,
    args: dict[str, str],
    *,
    image: str | None = None,
) -> PolicyEvaluation:
    data = (ASSETS / file).read_bytes() if file else None
    descriptor: dict[str, Any] = {"digest": {"sha256": "00"}, "annotations": {}}
    if image is not None or file is not None:
        descriptor["name"] = image or Path(str(file)).name
    content = evaluable_content(kind, data, descriptor=descriptor)
    doc = builtin.load(policy)
    assert isinstance(doc, Policy)
    evaluation = verifier.evaluate(doc, kind, content, args=args)
    assert evaluation is not None
    return evaluation


PASS, VIOLATE, SKIP = "pass", "violate", "skip"

CASES: list[tuple[str, str, str | None, dict[str, str], str, str]] = [
    # sbom-present (ATTESTATION)
    ("sbom-present", "ATTESTATION", INPUTS + "statement-ci.json", {}, PASS, ""),
    ("sbom-present", "ATTESTATION", INPUTS + "statement-local.json", {}, VIOLATE, "no SBOM"),
    ("sbom-present", "ATTESTATION", INPUTS + "not-a-statement.json", {}, SKIP, "materials"),
    # sbom-ntia: CycloneDX JSON and XML, SPDX
    ("sbom-ntia", "SBOM_CYCLONEDX_JSON", INPUTS + "cyclonedx-ntia-complete.json", {}, PASS, ""),
    (
        "sbom-ntia",
        "SBOM_CYCLONEDX_JSON",
        "materials/cyclonedx-1.6.json",
        {},
        VIOLATE,
        "5 of 5 components have no supplier: fastapi@0.115.4",
    ),
    (
        "sbom-ntia",
        "SBOM_CYCLONEDX_XML",
        "materials/sboms/cyclonedx-py-1.5.xml",
        {"max_listed": "1"},
        VIOLATE,
        "have no supplier: certifi@2026.10.19.post1 and 6 more",
    ),
    ("sbom-ntia", "SBOM_SPDX_JSON", INPUTS + "spdx-ntia-complete.json", {}, PASS, ""),
    (
        "sbom-ntia",
        "SBOM_SPDX_JSON",
        "materials/spdx-2.3.json",
        {},
        VIOLATE,
        "4 of 4 packages have no supplier",
    ),
    ("sbom-ntia", "SBOM_CYCLONEDX_JSON", INPUTS + "not-a-report.json", {}, SKIP, "CycloneDX"),
    ("sbom-ntia", "SBOM_SPDX_JSON", INPUTS + "not-a-report.json", {}, SKIP, "SPDX"),
    # sbom-banned-licenses
    (
        "sbom-banned-licenses",
        "SBOM_CYCLONEDX_JSON",
        INPUTS + "cyclonedx-ntia-complete.json",
        {"licenses": "AGPL-3.0-only, SSPL-1.0"},
        PASS,
        "",
    ),
    (
        "sbom-banned-licenses",
        "SBOM_CYCLONEDX_JSON",
        INPUTS + "cyclonedx-ntia-complete.json",
        {"licenses": "gpl-3.0-only"},
        VIOLATE,
        "component urllib3@2.2.3 has banned license(s): GPL-3.0-only",
    ),
    (
        "sbom-banned-licenses",
        "SBOM_CYCLONEDX_JSON",
        "materials/cyclonedx-1.6.json",
        {"licenses": "BSD-3-Clause"},
        VIOLATE,
        "component starlette@0.41.2",  # a nested component
    ),
    (
        "sbom-banned-licenses",
        "SBOM_SPDX_JSON",
        INPUTS + "spdx-ntia-complete.json",
        {"licenses": "AGPL-3.0-only"},
        VIOLATE,
        "package express@4.21.1 has banned license(s): AGPL-3.0-only",
    ),
    (
        "sbom-banned-licenses",
        "SBOM_SPDX_JSON",
        INPUTS + "not-a-report.json",
        {"licenses": "MIT"},
        SKIP,
        "SPDX",
    ),
    # sbom-freshness
    (
        "sbom-freshness",
        "SBOM_CYCLONEDX_JSON",
        INPUTS + "cyclonedx-ntia-complete.json",
        {"max_age_days": "36500"},
        PASS,
        "",
    ),
    (
        "sbom-freshness",
        "SBOM_CYCLONEDX_JSON",
        INPUTS + "cyclonedx-ntia-complete.json",
        {},
        VIOLATE,
        "days old (made 2024-11-05T10:21:37Z); the limit is 30 days",
    ),
    (
        "sbom-freshness",
        "SBOM_SPDX_JSON",
        INPUTS + "spdx-ntia-complete.json",
        {"max_age_days": "7"},
        VIOLATE,
        "the limit is 7 days",
    ),
    (
        "sbom-freshness",
        "SBOM_CYCLONEDX_JSON",
        INPUTS + "cyclonedx-ntia-complete.json",
        {"max_age_days": "soon"},
        VIOLATE,
        "must be a number",
    ),
    ("sbom-freshness", "SBOM_CYCLONEDX_JSON", INPUTS + "not-a-report.json", {}, SKIP, "CycloneDX"),
    # vulnerabilities: SARIF, GHAS, Grype/Trivy as EVIDENCE
    (
        "vulnerabilities",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
        {"severity": "critical"},
        PASS,
        "",
    ),
    (
        "vulnerabilities",
        "SARIF",
        "materials/reports/sarif-codeql.sarif",
        {},
        VIOLATE,
        "finding py/sql-injection (high) at app/db.py:42",
    ),
    ("vulnerabilities", "SARIF", INPUTS + "not-a-report.json", {}, SKIP, "SARIF"),
    (
        "vulnerabilities",
        "GHAS_CODE_SCAN",
        "materials/ghas/ghas-code-scanning.json",
        {},
        VIOLATE,
        "alert 42: py/sql-injection (high)",
    ),
    (
        "vulnerabilities",
        "GHAS_CODE_SCAN",
        "materials/ghas/ghas-code-scanning.json",
        {"severity": "critical"},
        PASS,
        "",
    ),
    (
        "vulnerabilities",
        "GHAS_DEPENDENCY_SCAN",
        "materials/ghas/ghas-dependabot.json",
        {},
        VIOLATE,
        "CVE-2022-34265 (critical) in django",
    ),
    (
        "vulnerabilities",
        "GHAS_DEPENDENCY_SCAN",
        "materials/ghas/ghas-dependabot.json",
        {"ignore": "CVE-2022-34265"},
        PASS,
        "",
    ),
    (
        "vulnerabilities",
        "EVIDENCE",
        INPUTS + "grype-findings.json",
        {},
        VIOLATE,
        "CVE-2021-44228 (critical) in log4j-core@2.14.1",
    ),
    ("vulnerabilities", "EVIDENCE", INPUTS + "grype-clean.json", {}, PASS, ""),
    (
        "vulnerabilities",
        "EVIDENCE",
        INPUTS + "grype-findings.json",
        {"ignore": "CVE-2021-44228\nCVE-2023-1370"},
        PASS,
        "",
    ),
    (
        "vulnerabilities",
        "EVIDENCE",
        INPUTS + "trivy-findings.json",
        {},
        VIOLATE,
        "CVE-2024-6387 (high) in openssh-server@1:9.2p1-2+deb12u2",
    ),
    (
        "vulnerabilities",
        "EVIDENCE",
        INPUTS + "evidence-envelope-trivy.json",
        {"severity": "HIGH"},
        VIOLATE,
        "CVE-2024-6387 (high)",
    ),
    ("vulnerabilities", "EVIDENCE", INPUTS + "not-a-report.json", {}, SKIP, "Grype or Trivy"),
    # vex-covers-cves
    (
        "vex-covers-cves",
        "OPENVEX",
        "materials/vex/openvex-acme-appliance.json",
        {"cves": "CVE-2024-6387, cve-2023-44487"},
        PASS,
        "",
    ),
    (
        "vex-covers-cves",
        "OPENVEX",
        "materials/vex/openvex-acme-appliance.json",
        {"cves": "CVE-2024-6387,CVE-2021-44228"},
        VIOLATE,
        "no VEX statement covers CVE-2021-44228",
    ),
    (
        "vex-covers-cves",
        "CSAF_VEX",
        "materials/vex/csaf-vex-acme-2024-0042.json",
        {"cves": "CVE-2024-6387\nCVE-2023-44487"},
        PASS,
        "",
    ),
    (
        "vex-covers-cves",
        "CSAF_VEX",
        "materials/vex/csaf-vex-acme-2024-0042.json",
        {"cves": "CVE-2024-3094"},
        VIOLATE,
        "no VEX statement covers CVE-2024-3094",
    ),
    ("vex-covers-cves", "OPENVEX", INPUTS + "not-a-report.json", {"cves": "CVE-1"}, SKIP, "VEX"),
    # runner-ci, git-commit-clean, required-annotations (ATTESTATION)
    ("runner-ci", "ATTESTATION", INPUTS + "statement-ci.json", {}, PASS, ""),
    ("runner-ci", "ATTESTATION", INPUTS + "statement-local.json", {}, VIOLATE, "GENERIC"),
    ("runner-ci", "ATTESTATION", INPUTS + "not-a-statement.json", {}, SKIP, "attestation"),
    ("git-commit-clean", "ATTESTATION", INPUTS + "statement-ci.json", {}, PASS, ""),
    (
        "git-commit-clean",
        "ATTESTATION",
        INPUTS + "statement-local.json",
        {},
        VIOLATE,
        "commit 3f786850e387550fdab836ed7e6dc881de23001b had uncommitted changes",
    ),
    (
        "git-commit-clean",
        "ATTESTATION",
        INPUTS + "statement-no-git.json",
        {},
        VIOLATE,
        "records no git commit",
    ),
    ("git-commit-clean", "ATTESTATION", INPUTS + "not-a-statement.json", {}, SKIP, "attestation"),
    (
        "required-annotations",
        "ATTESTATION",
        INPUTS + "statement-ci.json",
        {"names": "owner-team, release-channel=stable"},
        PASS,
        "",
    ),
    (
        "required-annotations",
        "ATTESTATION",
        INPUTS + "statement-local.json",
        {"names": "owner-team"},
        VIOLATE,
        "no value for annotation owner-team",
    ),
    (
        "required-annotations",
        "ATTESTATION",
        INPUTS + "statement-local.json",
        {"names": "release-channel=stable"},
        VIOLATE,
        "annotation release-channel is beta, not stable",
    ),
    (
        "required-annotations",
        "ATTESTATION",
        INPUTS + "not-a-statement.json",
        {"names": "x"},
        SKIP,
        "attestation",
    ),
    # container-allowed-registries: the image's repository comes from chainloop_metadata
    ("junit-no-failures", "JUNIT_XML", INPUTS + "junit-green.xml", {}, PASS, ""),
    (
        "junit-no-failures",
        "JUNIT_XML",
        "materials/reports/junit-surefire.xml",
        {},
        VIOLATE,
        "1 of 4 tests failed: com.example.shop.CartTest.appliesDiscount (failed)",
    ),
    (
        "junit-no-failures",
        "JUNIT_XML",
        INPUTS + "junit-green.xml",
        {"min_tests": "10"},
        VIOLATE,
        "the report has 3 tests; at least 10 are required",
    ),
    ("junit-no-failures", "JUNIT_XML", INPUTS + "junit-empty-suites.xml", {}, SKIP, "no JUnit"),
]


@pytest.mark.parametrize(
    ("policy", "kind", "file", "args", "outcome", "fragment"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[4]}-{i}" for i, c in enumerate(CASES)],
)
def test_builtin_policy(
    verifier: PolicyVerifier,
    policy: str,
    kind: str,
    file: str,
    args: dict[str, str],
    outcome: str,
    fragment: str,
) -> None:
    evaluation = evaluate(verifier, policy, kind, file, args)
    messages = [v.message for v in evaluation.violations]
    if outcome == PASS:
        assert evaluation.passed, messages or evaluation.skip_reasons
    elif outcome == VIOLATE:
        assert not evaluation.skipped
        assert any(fragment in m for m in messages), messages
    else:
        assert evaluation.skipped and not messages
        assert any(fragment in r for r in evaluation.skip_reasons), evaluation.skip_reasons


@pytest.mark.parametrize(
    ("image", "outcome"),
    [
        ("ghcr.io/acme/shop", PASS),
        ("registry.example.com:5000/team/api", PASS),
        ("nginx", VIOLATE),  # docker.io/library/nginx
        ("ghcr.io/acme-evil/shop", VIOLATE),  # a prefix of the name, not of the path
        (None, SKIP),
    ],
)
def test_container_allowed_registries(
    verifier: PolicyVerifier, image: str | None, outcome: str
) -> None:
    args = {"registries": "ghcr.io/acme, registry.example.com:5000/"}
    evaluation = evaluate(
        verifier, "container-allowed-registries", "CONTAINER_IMAGE", None, args, image=image
    )
    if outcome == PASS:
        assert evaluation.passed
    elif outcome == VIOLATE:
        assert "is not from an allowed registry (ghcr.io/acme, registry.example.com:5000)" in (
            evaluation.violations[0].message
        )
    else:
        assert evaluation.skipped


def test_vulnerabilities_rejects_an_unknown_severity(verifier: PolicyVerifier) -> None:
    evaluation = evaluate(
        verifier, "vulnerabilities", "EVIDENCE", INPUTS + "grype-clean.json", {"severity": "bad"}
    )
    assert [v.message for v in evaluation.violations] == [
        "the severity argument must be one of critical, high, medium, low"
    ]


def test_builtin_required_inputs_are_enforced(verifier: PolicyVerifier) -> None:
    from chainproof.errors import PolicyError

    with pytest.raises(PolicyError, match="missing required input 'cves'"):
        evaluate(
            verifier, "vex-covers-cves", "OPENVEX", "materials/vex/openvex-acme-appliance.json", {}
        )


def test_sbom_banned_licenses_without_licenses_bans_nothing(verifier: PolicyVerifier) -> None:
    found = evaluate(
        verifier, "sbom-banned-licenses", "SBOM_SPDX_JSON", INPUTS + "spdx-ntia-complete.json", {}
    )
    assert found.passed
