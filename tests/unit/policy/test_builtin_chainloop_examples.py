"""The built-ins under the names of Chainloop's open example policies (docs/examples/policies
in its repository), on real documents: SBOMs made by cyclonedx-py, Trivy and Syft, Semgrep
and CodeQL SARIF, Trivy JSON reports (tests/assets/policies/chainloop-examples/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from chainproof.policy import Policy, PolicyVerifier, RegoEngine, builtin
from chainproof.policy.loader import PolicyLoader, parse_stored

from .test_builtin import PASS, SKIP, VIOLATE, evaluate

EXAMPLES = "policies/chainloop-examples/"
PY_SBOM = "materials/sboms/cyclonedx-py-1.6.json"  # cyclonedx-py: requests and its deps
PY_SBOM_XML = "materials/sboms/cyclonedx-py-1.5.xml"
NO_LICENSE = EXAMPLES + "cyclonedx-py-no-license.json"  # cyclonedx-py: ply has no license
TRIVY_CDX = EXAMPLES + "trivy-conda-cyclonedx.json"  # Trivy: openssl 1.1.1q, pip 22.2.2
SYFT_SPDX = EXAMPLES + "syft-spdx-directory.json"
TRIVY_SPDX = EXAMPLES + "trivy-conda-spdx.json"
TRIVY_MEDIUM = EXAMPLES + "trivy-alpine-distroless.json"  # one MEDIUM, one UNKNOWN
TRIVY_CLEAN = EXAMPLES + "trivy-alpine-39-skip.json"  # nothing found: no Results
SEMGREP = "materials/reports/sarif-semgrep.sarif"  # real Semgrep 1.185.0 output
CODEQL_NOTES = EXAMPLES + "codeql-action-valid.sarif"  # LGTM and CodeQL runs, notes only
CODEQL = "materials/reports/sarif-codeql.sarif"
NOT_A_REPORT = "policies/inputs/not-a-report.json"

ALIASES = {
    "cyclonedx-banned-licenses": "sbom-banned-licenses",
    "cyclonedx-freshness": "sbom-freshness",
    "sarif-errors": "sast",
    "trivy-vulns": "vulnerabilities",
}


@pytest.fixture(scope="module")
def verifier() -> Iterator[PolicyVerifier]:
    with RegoEngine() as engine:
        yield PolicyVerifier(engine=engine)


CASES: list[tuple[str, str, str, dict[str, str], str, str]] = [
    # cyclonedx-banned-licenses: GPL-2.0 and GPL-3.0 by default, as Chainloop's example
    ("cyclonedx-banned-licenses", "SBOM_CYCLONEDX_JSON", PY_SBOM, {}, PASS, ""),
    (
        "cyclonedx-banned-licenses",
        "SBOM_CYCLONEDX_JSON",
        PY_SBOM,
        {"licenses": "MPL-2.0"},
        VIOLATE,
        "component certifi@2026.10.19.post1 has banned license(s): MPL-2.0",
    ),
    (
        "cyclonedx-banned-licenses",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {"licenses": "openssl"},  # a license name, as Trivy writes it
        VIOLATE,
        "component openssl@1.1.1q has banned license(s): OpenSSL",
    ),
    ("cyclonedx-banned-licenses", "SBOM_CYCLONEDX_JSON", NOT_A_REPORT, {}, SKIP, "CycloneDX"),
    # cyclonedx-banned-packages: NAME bans every version, NAME@VERSION that one and older
    ("cyclonedx-banned-packages", "SBOM_CYCLONEDX_JSON", TRIVY_CDX, {}, PASS, ""),
    (
        "cyclonedx-banned-packages",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {"packages": "openssl@1.1.1w"},
        VIOLATE,
        "component openssl@1.1.1q is banned (openssl 1.1.1w and older)",
    ),
    (
        "cyclonedx-banned-packages",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {"packages": "openssl@1.1.0"},  # 1.1.1q is newer
        PASS,
        "",
    ),
    (
        "cyclonedx-banned-packages",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {"packages": "PIP"},
        VIOLATE,
        "component pip@22.2.2 is banned (every version of pip)",
    ),
    (
        "cyclonedx-banned-packages",
        "SBOM_CYCLONEDX_JSON",
        PY_SBOM,
        {"packages": "requests@2.32.3"},  # the same version
        VIOLATE,
        "component requests@2.32.3 is banned (requests 2.32.3 and older)",
    ),
    (
        "cyclonedx-banned-packages",
        "SBOM_CYCLONEDX_XML",
        PY_SBOM_XML,
        {"packages": "urllib3@2.7"},  # 2.8.0 is newer
        PASS,
        "",
    ),
    ("cyclonedx-banned-packages", "SBOM_CYCLONEDX_JSON", NOT_A_REPORT, {}, SKIP, "CycloneDX"),
    # cyclonedx-freshness: 30 days by default, freshness_days as Chainloop's sbom-freshness
    (
        "cyclonedx-freshness",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {"freshness_days": "99999"},
        PASS,
        "",
    ),
    (
        "cyclonedx-freshness",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {},
        VIOLATE,
        "days old (made 2021-08-25T12:20:30+00:00); the limit is 30 days",
    ),
    (
        "cyclonedx-freshness",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {"freshness_days": "a week"},
        VIOLATE,
        "the max_age_days (freshness_days) argument must be a number of days",
    ),
    ("cyclonedx-freshness", "SBOM_CYCLONEDX_JSON", NOT_A_REPORT, {}, SKIP, "CycloneDX"),
    # cyclonedx-licenses
    ("cyclonedx-licenses", "SBOM_CYCLONEDX_JSON", PY_SBOM, {}, PASS, ""),
    ("cyclonedx-licenses", "SBOM_CYCLONEDX_XML", PY_SBOM_XML, {}, PASS, ""),
    (
        "cyclonedx-licenses",
        "SBOM_CYCLONEDX_JSON",
        NO_LICENSE,
        {},
        VIOLATE,
        "1 of 3 components have no license: ply@3.11",
    ),
    ("cyclonedx-licenses", "SBOM_CYCLONEDX_JSON", NOT_A_REPORT, {}, SKIP, "CycloneDX"),
    # cyclonedx-required-packages: glibc and libcrypto3 by default, as Chainloop's example
    (
        "cyclonedx-required-packages",
        "SBOM_CYCLONEDX_JSON",
        PY_SBOM,
        {"packages": "requests, URLLIB3"},
        PASS,
        "",
    ),
    (
        "cyclonedx-required-packages",
        "SBOM_CYCLONEDX_JSON",
        PY_SBOM,
        {},
        VIOLATE,
        "required package libcrypto3 is not in the SBOM",
    ),
    (
        "cyclonedx-required-packages",
        "SBOM_CYCLONEDX_JSON",
        TRIVY_CDX,
        {"packages": "openssl, requests"},
        VIOLATE,
        "required package requests is not in the SBOM",
    ),
    ("cyclonedx-required-packages", "SBOM_CYCLONEDX_JSON", NOT_A_REPORT, {}, SKIP, "CycloneDX"),
    # sarif-errors
    ("sarif-errors", "SARIF", CODEQL_NOTES, {}, PASS, ""),
    (
        "sarif-errors",
        "SARIF",
        CODEQL_NOTES,
        {"severity": "note"},
        VIOLATE,
        "CodeQL command-line toolchain finding js/inconsistent-use-of-new (note) at "
        "src/promiseUtils.js:2",
    ),
    (
        "sarif-errors",
        "SARIF",
        SEMGREP,
        {},
        VIOLATE,
        "Semgrep OSS finding sql-string-format (error) at app/db.py:6",
    ),
    (
        "sarif-errors",
        "SARIF",
        CODEQL,
        {},
        VIOLATE,
        "CodeQL finding py/sql-injection (error) at app/db.py:42",
    ),
    ("sarif-errors", "SARIF", NOT_A_REPORT, {}, SKIP, "SARIF"),
    # trivy-vulns: MEDIUM and above by default
    ("trivy-vulns", "EVIDENCE", TRIVY_CLEAN, {}, PASS, ""),
    ("trivy-vulns", "EVIDENCE", TRIVY_MEDIUM, {"severity": "high"}, PASS, ""),
    (
        "trivy-vulns",
        "EVIDENCE",
        TRIVY_MEDIUM,
        {},
        VIOLATE,
        "CVE-2022-24765 (medium) in git@2.35.1-r2",
    ),
    ("trivy-vulns", "EVIDENCE", NOT_A_REPORT, {}, SKIP, "Trivy"),
    # spdx-sbom-syft
    ("spdx-sbom-syft", "SBOM_SPDX_JSON", SYFT_SPDX, {}, PASS, ""),
    (
        "spdx-sbom-syft",
        "SBOM_SPDX_JSON",
        TRIVY_SPDX,
        {},
        VIOLATE,
        "the SBOM was not made with Syft (creators: Tool: trivy, Organization: aquasecurity)",
    ),
    ("spdx-sbom-syft", "SBOM_SPDX_JSON", NOT_A_REPORT, {}, SKIP, "SPDX"),
    # json-field-validator, on a Trivy report added as evidence
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_MEDIUM,
        {"required_field": "Metadata.OS.Family", "expected_value": "alpine"},
        PASS,
        "",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_MEDIUM,
        {"required_field": "Metadata.OS.Name", "field_pattern": "^[0-9]+\\.[0-9]+$"},
        PASS,
        "",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_CLEAN,
        {"required_field": "Metadata.ImageConfig.config.ArgsEscaped", "expected_value": "True"},
        PASS,
        "",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_CLEAN,
        {"required_field": "Metadata.Size", "expected_value": "5796352"},
        PASS,
        "",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_MEDIUM,
        {"required_field": "Metadata.OS.Family", "expected_value": "debian"},
        VIOLATE,
        "field 'Metadata.OS.Family' is 'alpine', expected 'debian'",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_MEDIUM,
        {"required_field": "Metadata.OS.Name", "field_pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"},
        VIOLATE,
        "field 'Metadata.OS.Name' value '3.16' does not match pattern '^[0-9]+\\.[0-9]+\\.[0-9]+$'",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_MEDIUM,
        {"required_field": "Metadata.OS.Family", "field_pattern": "^[a-z]{3,8}$"},  # a comma
        PASS,
        "",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        TRIVY_MEDIUM,
        {"required_field": "Metadata.Size"},
        VIOLATE,
        "required field 'Metadata.Size' is missing or null",
    ),
    (
        "json-field-validator",
        "EVIDENCE",
        "materials/sboms/cyclonedx-py-1.6.json",
        {"required_field": "components", "field_pattern": "^x{1,3}$"},
        VIOLATE,
        "field 'components' is an array (only a string, number or boolean can be compared)",
    ),
]


@pytest.mark.parametrize(
    ("policy", "kind", "file", "args", "outcome", "fragment"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[4]}-{i}" for i, c in enumerate(CASES)],
)
def test_chainloop_example(
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


def test_json_field_validator_needs_the_field(verifier: PolicyVerifier) -> None:
    from chainproof.errors import PolicyError

    with pytest.raises(PolicyError, match="missing required input 'required_field'"):
        evaluate(verifier, "json-field-validator", "EVIDENCE", TRIVY_CLEAN, {})


@pytest.mark.parametrize(("alias", "target"), sorted(ALIASES.items()))
def test_an_alias_embeds_the_rego_of_its_builtin(alias: str, target: str) -> None:
    """The shipped file refers to the other built-in's script; the document the control
    plane shows and stores is self-contained, with that script's Rego as it is."""
    from importlib import resources

    shipped = resources.files(builtin.__name__).joinpath(f"{alias}.yaml").read_text()
    assert re.search(rf"ref: {target}\.yaml#", shipped) and "package " not in shipped
    doc = builtin.load(alias)
    source = builtin.load(target)
    assert isinstance(doc, Policy) and isinstance(source, Policy)
    for script in doc.scripts:
        assert script.kind is not None
        assert [script.source] == [s.source for s in source.scripts_for(script.kind)]
    raw = builtin.raw(alias)
    assert b"ref:" not in raw
    stored = parse_stored(raw, source=alias)  # what `policy create` would accept
    assert isinstance(stored, Policy) and stored.digest == doc.digest


def test_the_example_names_resolve_as_chainloop_references() -> None:
    for name in [*ALIASES, "cyclonedx-banned-packages", "cyclonedx-licenses"]:
        doc, ref = PolicyLoader().load(f"chainloop://{name}")
        assert doc.name == name and ref.uri == f"chainproof://builtin/{name}"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("    ref: no-such-policy.yaml#SARIF", "unknown policy 'no-such-policy'"),
        ("    ref: sast.yaml#SBOM_SPDX_JSON", "the built-in 'sast' has no SBOM_SPDX_JSON script"),
        ("    ref: sbom-quality.yaml#SARIF", "the built-in 'sbom-quality' has no SARIF script"),
    ],
)
def test_a_shared_script_must_exist(line: str, error: str) -> None:
    from chainproof.errors import PolicyError

    match = builtin._SHARED.search(line)
    assert match is not None
    with pytest.raises(PolicyError, match=re.escape(error)):
        builtin._embedded("my-alias", match)
