"""GitHub Advanced Security alert lists (GHAS_CODE_SCAN, GHAS_SECRET_SCAN, GHAS_DEPENDENCY_SCAN)
and GitLab security reports (GITLAB_SECURITY_REPORT) against samples in
tests/assets/materials/ghas.

The GHAS samples are written after the alert objects of the GitHub REST API documentation
(``GET /repos/{owner}/{repo}/code-scanning/alerts``, ``.../secret-scanning/alerts``,
``.../dependabot/alerts``); the GitLab samples after GitLab's security-report-schemas v15 (sast,
dependency_scanning, secret_detection, container_scanning, dast). Neither can be produced here:
both come from hosted services.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.core.materials_kit import craft, error

from chainproof.core.materials.base import CraftedMaterial, MaterialHandler
from chainproof.core.materials.detect_secrets_baseline import DetectSecretsBaselineHandler
from chainproof.core.materials.ghas import (
    GhasCodeScanHandler,
    GhasDependencyScanHandler,
    GhasSecretScanHandler,
)
from chainproof.core.materials.gitlab_security_report import GitlabSecurityReportHandler
from chainproof.core.materials.gitleaks_json import GitleaksJsonHandler
from chainproof.core.materials.trufflehog_json import TrufflehogJsonHandler

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
GHAS = ASSETS / "ghas"
SECRETS = ASSETS / "secrets"
CODE = GhasCodeScanHandler()
SECRET = GhasSecretScanHandler()
DEPENDABOT = GhasDependencyScanHandler()
GITLAB = GitlabSecurityReportHandler()
GHAS_HANDLERS: tuple[MaterialHandler, ...] = (CODE, SECRET, DEPENDABOT)
HANDLERS: tuple[MaterialHandler, ...] = (*GHAS_HANDLERS, GITLAB)
EVERY_HANDLER: tuple[MaterialHandler, ...] = (
    *HANDLERS,
    GitleaksJsonHandler(),
    TrufflehogJsonHandler(),
    DetectSecretsBaselineHandler(),
)
TOOLS = "chainproof.material.tools"
SCAN_TYPES = "chainproof.material.scan.types"
SAMPLES = {
    CODE.kind: "ghas-code-scanning.json",
    SECRET.kind: "ghas-secret-scanning.json",
    DEPENDABOT.kind: "ghas-dependabot.json",
}
LABELS = {CODE.kind: "code scanning", SECRET.kind: "secret scanning", DEPENDABOT.kind: "Dependabot"}


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2), encoding="utf-8")
    return path


def load(name: str) -> Any:
    return json.loads((GHAS / name).read_text(encoding="utf-8"))


def shown(material: CraftedMaterial) -> str:
    return json.dumps(material.summary) + json.dumps(material.annotations)


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ghas-code-scanning.json", "GHAS_CODE_SCAN"),
        ("ghas-secret-scanning.json", "GHAS_SECRET_SCAN"),
        ("ghas-dependabot.json", "GHAS_DEPENDENCY_SCAN"),
        ("gitlab-sast.json", "GITLAB_SECURITY_REPORT"),
        ("gitlab-dependency-scanning.json", "GITLAB_SECURITY_REPORT"),
        ("gitlab-secret-detection.json", "GITLAB_SECURITY_REPORT"),
        ("gitlab-container-scanning.json", "GITLAB_SECURITY_REPORT"),
        ("gitlab-dast-clean.json", "GITLAB_SECURITY_REPORT"),
    ],
)
def test_each_sample_is_accepted_by_its_kind_only(name: str, kind: str) -> None:
    accepted = [h.kind for h in EVERY_HANDLER if h.accepts(str(GHAS / name))]
    assert accepted == [kind]


@pytest.mark.parametrize(
    "value",
    [
        str(GHAS / "ghas-code-scanning-truncated.json"),
        str(GHAS / "gitlab-sast-truncated.json"),
        str(SECRETS / "gitleaks.json"),
        str(SECRETS / "gitleaks-empty.json"),  # [] is valid GHAS, but of no telling type
        str(SECRETS / "trufflehog.jsonl"),
        str(SECRETS / "detect-secrets-baseline.json"),
        str(ASSETS / "cyclonedx-1.6.json"),
        str(ASSETS / "spdx-2.3.json"),
        str(ASSETS / "evidence.json"),
        str(ASSETS / "not-json.csv"),
        str(ASSETS / "empty.json"),
        str(GHAS / "missing.json"),
        str(GHAS),
        "",
    ],
)
def test_other_values_are_not_accepted(value: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(value)] == []


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_large_alert_lists_are_told_apart_by_their_head(tmp_path: Path, kind: str) -> None:
    alerts = load(SAMPLES[kind])
    many = [{**a, "number": n} for n, a in enumerate(alerts * 40, start=1)]
    path = write(tmp_path, "big.json", many)
    assert path.stat().st_size > 64 * 1024
    assert [h.kind for h in EVERY_HANDLER if h.accepts(str(path))] == [kind]
    handler = next(h for h in GHAS_HANDLERS if h.kind == kind)
    assert handler.craft("big", str(path)).summary["alerts"] == len(alerts) * 40


def test_alert_number_must_be_an_integer_for_detection(tmp_path: Path) -> None:
    alerts = load("ghas-code-scanning.json")
    alerts[0]["number"] = True
    assert not CODE.accepts(str(write(tmp_path, "a.json", alerts)))
    alerts[0]["number"] = "42"
    assert not CODE.accepts(str(write(tmp_path, "b.json", alerts)))


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.kind)
def test_missing_directory_and_empty(handler: MaterialHandler, tmp_path: Path) -> None:
    assert "does not exist" in error(handler, tmp_path / "nope.json").message
    assert "is a directory" in error(handler, tmp_path).message
    assert "is empty" in error(handler, write(tmp_path, "empty.json", "")).message
    assert "needs a file path" in error(handler, "").message


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.kind)
def test_not_json(handler: MaterialHandler) -> None:
    message = error(handler, ASSETS / "not-json.csv").message
    assert message.startswith("not-json.csv is not a valid ")
    assert "document: not JSON at line 1 column 1: Expecting value" in message


# --- GHAS_CODE_SCAN --------------------------------------------------------------------------


def test_code_scanning_alerts() -> None:
    material = craft(CODE, GHAS / "ghas-code-scanning.json")
    assert material.summary == {
        "alerts": 5,
        "by_state": {"dismissed": 1, "fixed": 1, "open": 3},
        # security severity for security rules, else the rule's severity
        "by_severity": {"high": 2, "medium": 1, "note": 1, "warning": 1},
        "by_tool": {"CodeQL": 4, "Semgrep OSS": 1},
        "rules": 4,
    }
    assert material.annotations == {TOOLS: '["CodeQL@2.19.3", "Semgrep OSS@1.85.0"]'}


def test_code_scanning_nulls(tmp_path: Path) -> None:
    alerts = load("ghas-code-scanning.json")
    alerts[4]["tool"]["version"] = None  # third-party SARIF without a driver version
    alerts[4]["rule"]["id"] = None  # the API allows a null rule id: it is not a rule
    alerts[3]["rule"]["severity"] = None
    alerts[0]["state"] = "closed"
    material = craft(CODE, write(tmp_path, "a.json", alerts))
    assert material.summary == {
        "alerts": 5,
        "by_state": {"closed": 1, "dismissed": 1, "fixed": 1, "open": 2},
        "by_severity": {"high": 2, "medium": 1, "unknown": 1, "warning": 1},
        "by_tool": {"CodeQL": 4, "Semgrep OSS": 1},
        "rules": 3,
    }
    assert material.annotations == {TOOLS: '["CodeQL@2.19.3", "Semgrep OSS"]'}


def _alerts(kind: str, index: int, change: Any) -> list[Any]:
    alerts: list[Any] = load(SAMPLES[kind])
    if callable(change):
        change(alerts[index])
    else:
        alerts[index] = change
    return alerts


def _drop(key: str) -> Any:
    return lambda a: a.pop(key)


def _set(**values: Any) -> Any:
    return lambda a: a.update(values)


@pytest.mark.parametrize(
    ("kind", "change", "why"),
    [
        (CODE.kind, "open", "alert [1] is a string, not an object"),
        (CODE.kind, [42], "alert [1] is an array, not an object"),
        (CODE.kind, _drop("number"), "alert [1] has no integer 'number'"),
        (CODE.kind, _set(number="41"), "alert [1] has no integer 'number'"),
        (CODE.kind, _set(number=False), "alert [1] has no integer 'number'"),
        (CODE.kind, _drop("state"), "alert [1] has no string 'state'"),
        (CODE.kind, _set(state=None), "alert [1] has no string 'state'"),
        (CODE.kind, _drop("rule"), "alert [1] has no 'rule' object"),
        (CODE.kind, _set(rule="py/sql-injection"), "alert [1] has no 'rule' object"),
        (CODE.kind, _set(tool=None), "alert [1] has no 'tool' object"),
        (CODE.kind, lambda a: a["tool"].pop("name"), "alert [1] tool has no name"),
        (SECRET.kind, _drop("secret_type"), "alert [1] has no string 'secret_type'"),
        (SECRET.kind, _set(number=None), "alert [1] has no integer 'number'"),
        (SECRET.kind, _drop("state"), "alert [1] has no string 'state'"),
        (DEPENDABOT.kind, _drop("dependency"), "alert [1] has no 'dependency' object"),
        (
            DEPENDABOT.kind,
            _set(security_advisory="GHSA-p6mc-m468-83gw"),
            "alert [1] has no 'security_advisory' object",
        ),
        (DEPENDABOT.kind, _set(state=3), "alert [1] has no string 'state'"),
    ],
)
def test_ghas_malformed_alert(tmp_path: Path, kind: str, change: Any, why: str) -> None:
    handler = next(h for h in GHAS_HANDLERS if h.kind == kind)
    err = error(handler, write(tmp_path, "bad.json", _alerts(kind, 1, change)))
    assert err.message == f"bad.json is not a valid GHAS {LABELS[kind]} report: {why}"


@pytest.mark.parametrize("handler", GHAS_HANDLERS, ids=lambda h: h.kind)
def test_ghas_no_alerts_is_valid(handler: MaterialHandler) -> None:
    material = craft(handler, SECRETS / "gitleaks-empty.json")
    assert material.summary["alerts"] == 0
    assert material.summary["by_state"] == {}
    assert material.annotations == {}


def test_ghas_empty_summaries_exactly() -> None:
    empty = SECRETS / "gitleaks-empty.json"
    assert CODE.craft("a", str(empty)).summary == {
        "alerts": 0,
        "by_state": {},
        "by_severity": {},
        "by_tool": {},
        "rules": 0,
    }
    assert SECRET.craft("a", str(empty)).summary == {
        "alerts": 0,
        "by_state": {},
        "by_secret_type": {},
        "by_validity": {},
        "push_protection_bypassed": 0,
    }
    assert DEPENDABOT.craft("a", str(empty)).summary == {
        "alerts": 0,
        "by_state": {},
        "by_severity": {},
        "by_ecosystem": {},
        "advisories": 0,
    }


@pytest.mark.parametrize("handler", GHAS_HANDLERS, ids=lambda h: h.kind)
@pytest.mark.parametrize("other", list(SAMPLES))
def test_ghas_alert_types_are_distinguished(handler: MaterialHandler, other: str) -> None:
    name = SAMPLES[other]
    if other == handler.kind:
        assert craft(handler, GHAS / name).summary["alerts"] == len(load(name))
        return
    err = error(handler, GHAS / name)
    assert err.message == (
        f"{name} is a GitHub {LABELS[other]} alert list, not {LABELS[handler.kind]}"
    )
    assert err.hint == f"add it with --kind {other}"


@pytest.mark.parametrize("handler", GHAS_HANDLERS, ids=lambda h: h.kind)
def test_ghas_refuses_gitleaks_and_other_documents(handler: MaterialHandler) -> None:
    label = f"GHAS {LABELS[handler.kind]}"
    gitleaks = error(handler, SECRETS / "gitleaks.json")
    assert gitleaks.message == f"gitleaks.json is a Gitleaks report, not a {label} alert list"
    assert gitleaks.hint == "add it with --kind GITLEAKS_JSON"
    gitlab = error(handler, GHAS / "gitlab-sast.json")
    assert gitlab.message == (
        f"gitlab-sast.json is not a {label} alert list: the top level is an object, expected the "
        "array the GitHub REST API returns"
    )
    truncated = error(handler, GHAS / "ghas-code-scanning-truncated.json")
    assert truncated.message == (
        f"ghas-code-scanning-truncated.json is not a valid {label} document: not JSON at line 101 "
        "column 5: Expecting property name enclosed in double quotes"
    )
    assert "truncated" in str(truncated.hint)


def test_ghas_api_error_body_is_refused(tmp_path: Path) -> None:
    # what `gh api .../code-scanning/alerts > alerts.json` saves when the feature is off
    body = {
        "message": "Advanced Security must be enabled for this repository to use code scanning.",
        "documentation_url": "https://docs.github.com/rest/code-scanning/code-scanning",
        "status": "403",
    }
    path = write(tmp_path, "alerts.json", body)
    assert [h.kind for h in HANDLERS if h.accepts(str(path))] == []
    assert "the top level is an object" in error(CODE, path).message


# --- GHAS_SECRET_SCAN ------------------------------------------------------------------------


def test_secret_scanning_alerts() -> None:
    material = craft(SECRET, GHAS / "ghas-secret-scanning.json")
    assert material.summary == {
        "alerts": 4,
        "by_state": {"open": 2, "resolved": 2},
        "by_secret_type": {
            "aws_access_key_id": 1,
            "github_personal_access_token": 2,
            "slack_incoming_webhook_url": 1,
        },
        "by_validity": {"active": 1, "inactive": 2, "unknown": 1},
        "push_protection_bypassed": 1,
    }
    assert material.annotations == {}
    secrets = [a["secret"] for a in load("ghas-secret-scanning.json")]
    assert len(secrets) == 4
    for secret in secrets:
        assert secret not in shown(material)


def test_secret_scanning_errors_do_not_quote_secrets(tmp_path: Path) -> None:
    alerts = load("ghas-secret-scanning.json")
    alerts[0]["secret_type"] = alerts[0]["secret"]  # a malformed export that mixes fields up
    alerts[1]["state"] = {"value": alerts[1]["secret"]}
    err = error(SECRET, write(tmp_path, "s.json", alerts))
    assert (
        err.message
        == "s.json is not a valid GHAS secret scanning report: alert [1] has no string 'state'"
    )
    for alert in alerts:
        assert alert["secret"] not in err.message + str(err.hint)


# --- GHAS_DEPENDENCY_SCAN --------------------------------------------------------------------


def test_dependabot_alerts() -> None:
    material = craft(DEPENDABOT, GHAS / "ghas-dependabot.json")
    assert material.summary == {
        "alerts": 4,
        "by_state": {"dismissed": 1, "fixed": 1, "open": 2},
        "by_severity": {"critical": 1, "high": 2, "medium": 1},
        "by_ecosystem": {"npm": 2, "pip": 2},
        "advisories": 3,  # the lodash advisory is alerted in two manifests
    }
    assert material.annotations == {}


def test_dependabot_severity_falls_back_to_the_vulnerability(tmp_path: Path) -> None:
    alerts = load("ghas-dependabot.json")
    del alerts[0]["security_advisory"]["severity"]  # critical, from security_vulnerability
    del alerts[3]["security_advisory"]["severity"]
    del alerts[3]["security_vulnerability"]
    del alerts[2]["dependency"]["package"]
    alerts[1]["security_advisory"]["ghsa_id"] = None
    summary = craft(DEPENDABOT, write(tmp_path, "d.json", alerts)).summary
    assert summary == {
        "alerts": 4,
        "by_state": {"dismissed": 1, "fixed": 1, "open": 2},
        "by_severity": {"critical": 1, "high": 2, "unknown": 1},
        "by_ecosystem": {"npm": 1, "pip": 2, "unknown": 1},
        "advisories": 3,
    }


# --- GITLAB_SECURITY_REPORT ------------------------------------------------------------------


def test_gitlab_sast() -> None:
    material = craft(GITLAB, GHAS / "gitlab-sast.json")
    assert material.summary == {
        "version": "15.0.7",
        "scan_type": "sast",
        "status": "success",
        "scanner": {"name": "Semgrep", "version": "1.74.0"},
        "analyzer": {"name": "Semgrep", "version": "5.12.1"},
        "vulnerabilities": 4,
        "by_severity": {"High": 1, "Low": 1, "Medium": 2},
    }
    assert material.annotations == {
        TOOLS: '["Semgrep@5.12.1", "Semgrep@1.74.0"]',
        SCAN_TYPES: "sast",
    }


def test_gitlab_dependency_scanning_names_its_one_tool_once() -> None:
    # gemnasium reports name the same analyzer and scanner
    material = craft(GITLAB, GHAS / "gitlab-dependency-scanning.json")
    assert material.summary == {
        "version": "15.0.7",
        "scan_type": "dependency_scanning",
        "status": "success",
        "scanner": {"name": "gemnasium-python", "version": "5.8.2"},
        "analyzer": {"name": "gemnasium-python", "version": "5.8.2"},
        "vulnerabilities": 2,
        "by_severity": {"Critical": 1, "Medium": 1},
    }
    assert material.annotations == {
        TOOLS: '["gemnasium-python@5.8.2"]',
        SCAN_TYPES: "dependency_scanning",
    }


def test_gitlab_secret_detection_keeps_secrets_out() -> None:
    material = craft(GITLAB, GHAS / "gitlab-secret-detection.json")
    assert material.summary == {
        "version": "15.0.7",
        "scan_type": "secret_detection",
        "status": "success",
        "scanner": {"name": "Gitleaks", "version": "8.18.4"},
        "analyzer": {"name": "secrets", "version": "6.1.0"},
        "vulnerabilities": 3,
        "by_severity": {"Critical": 3},
    }
    assert material.annotations == {
        TOOLS: '["secrets@6.1.0", "Gitleaks@8.18.4"]',
        SCAN_TYPES: "secret_detection",
    }
    extracts = [
        v["raw_source_code_extract"]
        for v in load("gitlab-secret-detection.json")["vulnerabilities"]
    ]
    assert "AKIAQYLPMN5HHHFPZAM2" in extracts
    for extract in extracts:
        assert extract not in shown(material)


def test_gitlab_container_scanning() -> None:
    material = craft(GITLAB, GHAS / "gitlab-container-scanning.json")
    assert material.summary == {
        "version": "15.0.7",
        "scan_type": "container_scanning",
        "status": "success",
        "scanner": {"name": "Trivy", "version": "0.51.4"},
        "analyzer": {"name": "GitLab Container Scanning", "version": "7.3.2"},
        "vulnerabilities": 4,
        "by_severity": {"High": 1, "Low": 1, "Medium": 1, "Unknown": 1},
    }
    assert material.annotations == {
        TOOLS: '["GitLab Container Scanning@7.3.2", "Trivy@0.51.4"]',
        SCAN_TYPES: "container_scanning",
    }


def test_gitlab_clean_dast_scan() -> None:
    material = craft(GITLAB, GHAS / "gitlab-dast-clean.json")
    assert material.summary["vulnerabilities"] == 0
    assert material.summary["by_severity"] == {}
    assert material.annotations[SCAN_TYPES] == "dast"


def test_gitlab_missing_severity_is_unknown_and_optional_parts(tmp_path: Path) -> None:
    report = load("gitlab-container-scanning.json")
    del report["vulnerabilities"][0]["severity"]  # joins the "Unknown" one, not a new key
    report["vulnerabilities"][1]["severity"] = None
    del report["scan"]["analyzer"]  # optional before schema 15
    del report["scan"]["scanner"]["version"]
    report["scan"]["status"] = 1
    material = craft(GITLAB, write(tmp_path, "r.json", report))
    assert material.summary == {
        "version": "15.0.7",
        "scan_type": "container_scanning",
        "status": None,
        "scanner": {"name": "Trivy", "version": None},
        "analyzer": None,
        "vulnerabilities": 4,
        "by_severity": {"High": 1, "Unknown": 3},
    }
    assert material.annotations == {TOOLS: '["Trivy"]', SCAN_TYPES: "container_scanning"}


@pytest.mark.parametrize(
    "scan_type",
    [
        "api_fuzzing",
        "cluster_image_scanning",
        "container_scanning",
        "coverage_fuzzing",
        "dast",
        "dependency_scanning",
        "sast",
        "secret_detection",
    ],
)
def test_gitlab_every_scan_type(tmp_path: Path, scan_type: str) -> None:
    report = load("gitlab-dast-clean.json")
    report["scan"]["type"] = scan_type
    path = write(tmp_path, "r.json", report)
    assert GITLAB.accepts(str(path))
    assert craft(GITLAB, path).annotations[SCAN_TYPES] == scan_type


def _report(change: Any) -> dict[str, Any]:
    report: dict[str, Any] = load("gitlab-sast.json")
    change(report)
    return report


def _vuln(report: dict[str, Any]) -> dict[str, Any]:
    vuln: dict[str, Any] = report["vulnerabilities"][1]
    return vuln


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda r: r.pop("version"), "version is missing or not a string"),
        (lambda r: r.update(version=15), "version is missing or not a string"),
        (
            lambda r: r["scan"].update(type="iast"),
            "scan.type is 'iast'; expected one of api_fuzzing, cluster_image_scanning, "
            "container_scanning, coverage_fuzzing, dast, dependency_scanning, sast, "
            "secret_detection",
        ),
        (lambda r: r["scan"].update(type="SAST"), "scan.type is 'SAST'; expected one of"),
        (lambda r: r["scan"].pop("type"), "scan.type is None; expected one of"),
        (lambda r: r["scan"].pop("scanner"), "scan.scanner needs a string id and name"),
        (lambda r: r["scan"]["scanner"].pop("id"), "scan.scanner needs a string id and name"),
        (
            lambda r: r["scan"]["scanner"].update(name=None),
            "scan.scanner needs a string id and name",
        ),
        (lambda r: r.update(vulnerabilities={}), "vulnerabilities is not an array"),
        (
            lambda r: r["vulnerabilities"].append("CVE-2024-1"),
            "vulnerabilities[4] is not an object",
        ),
        (lambda r: _vuln(r).pop("identifiers"), "vulnerabilities[1] has no identifiers"),
        (lambda r: _vuln(r).update(identifiers=[]), "vulnerabilities[1] has no identifiers"),
        (
            lambda r: _vuln(r).update(identifiers={"type": "cwe"}),
            "vulnerabilities[1] has no identifiers",
        ),
        (
            lambda r: _vuln(r).update(severity="Severe"),
            "vulnerabilities[1].severity is 'Severe'; expected one of Critical, High, Medium, "
            "Low, Info, Unknown",
        ),
        (lambda r: _vuln(r).update(severity="high"), "vulnerabilities[1].severity is 'high'"),
    ],
)
def test_gitlab_malformed(tmp_path: Path, change: Any, why: str) -> None:
    message = error(GITLAB, write(tmp_path, "bad.json", _report(change))).message
    assert message.startswith(f"bad.json is not a valid GitLab security report: {why}")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda r: r.pop("scan"), "missing scan"),
        (lambda r: r.pop("vulnerabilities"), "missing vulnerabilities"),
        (lambda r: [r.pop("scan"), r.pop("vulnerabilities")], "missing scan, vulnerabilities"),
        (lambda r: r.update(scan="sast"), "scan is not an object"),
        (lambda r: r.update(scan=None), "scan is not an object"),
    ],
)
def test_gitlab_required_parts(tmp_path: Path, change: Any, why: str) -> None:
    path = write(tmp_path, "r.json", _report(change))
    assert not GITLAB.accepts(str(path))
    err = error(GITLAB, path)
    assert err.message == f"r.json is not a GitLab security report: {why}"
    assert err.hint == "GitLab analyzers write it as gl-<type>-report.json"


def test_gitlab_schema_2_report_without_scan_is_refused(tmp_path: Path) -> None:
    # reports of the 2.x schemas had no scan object (and so no scan type)
    old = {
        "version": "2.3",
        "vulnerabilities": [
            {
                "category": "sast",
                "name": "Password in URL",
                "severity": "Critical",
                "location": {"file": "docker-compose.yml", "start_line": 19},
                "identifiers": [
                    {
                        "type": "trufflehog_rule_id",
                        "name": "Password in URL",
                        "value": "Password in URL",
                    }
                ],
            }
        ],
        "remediations": [],
    }
    path = write(tmp_path, "gl-sast-report.json", old)
    assert not GITLAB.accepts(str(path))
    assert (
        error(GITLAB, path).message
        == "gl-sast-report.json is not a GitLab security report: missing scan"
    )


def test_gitlab_top_level_truncated_and_other_kinds(tmp_path: Path) -> None:
    array = error(GITLAB, GHAS / "ghas-code-scanning.json").message
    assert array == (
        "ghas-code-scanning.json is not a GitLab security report: the top level is an array, not "
        "an object"
    )
    truncated = error(GITLAB, GHAS / "gitlab-sast-truncated.json")
    assert truncated.message == (
        "gitlab-sast-truncated.json is not a valid GitLab security document: not JSON at line 79 "
        "column 19: Expecting value"
    )
    assert "truncated" in str(truncated.hint)
    baseline = error(GITLAB, SECRETS / "detect-secrets-baseline.json").message
    assert baseline == (
        "detect-secrets-baseline.json is not a GitLab security report: missing scan, "
        "vulnerabilities"
    )
    jsonl = error(GITLAB, SECRETS / "trufflehog.jsonl").message
    assert "not JSON at line 2 column 1: Extra data" in jsonl


def test_gitlab_accepts(tmp_path: Path) -> None:
    report = load("gitlab-sast.json")
    report["scan"]["type"] = 7
    assert not GITLAB.accepts(str(write(tmp_path, "a.json", report)))
    report = load("gitlab-sast.json")
    report["vulnerabilities"] = {}
    assert not GITLAB.accepts(str(write(tmp_path, "b.json", report)))
    report = load("gitlab-sast.json")
    report["scan"]["type"] = "iast"  # accepted as GitLab's; craft names the unknown type
    assert GITLAB.accepts(str(write(tmp_path, "c.json", report)))


def test_large_gitlab_reports_detected_by_head_and_tail(tmp_path: Path) -> None:
    report = load("gitlab-sast.json")
    vulns = report.pop("vulnerabilities")
    scan = report.pop("scan")
    many = [copy.deepcopy(vulns[i % 4]) | {"id": f"v{i}"} for i in range(300)]
    # vulnerabilities first and scan last, as GitLab's analyzers write it: scan is in the tail
    path = write(tmp_path, "gl-sast-report.json", {**report, "vulnerabilities": many, "scan": scan})
    assert path.stat().st_size > 64 * 1024
    assert [h.kind for h in EVERY_HANDLER if h.accepts(str(path))] == ["GITLAB_SECURITY_REPORT"]
    summary = GITLAB.craft("big", str(path)).summary
    assert (summary["vulnerabilities"], summary["by_severity"]["Medium"]) == (300, 150)
    other = write(
        tmp_path,
        "other.json",
        {**report, "vulnerabilities": many, "scan": {**scan, "type": "iast"}},
    )
    assert not GITLAB.accepts(str(other))  # too large to parse: the type must be GitLab's
