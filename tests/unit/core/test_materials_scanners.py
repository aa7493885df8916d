"""Scanner evidence kinds (BLACKDUCK_SCA_JSON, TWISTCLI_SCAN_JSON, CHECKMARX_JSON,
OSSF_SCORECARD_JSON, ZAP_DAST_ZIP) against sample files in tests/assets/materials/scanners.

None of these scanners can be installed here (they are commercial services or Go/Java binaries
outside PyPI), so the samples are written by hand after each tool's real output: Black Duck's
version report, twistcli's ``--output-file`` JSON, ast-cli's ``--report-format json``,
``scorecard --format json`` and ZAP's Traditional JSON report. The ZAP zip is built in each test
from ``zap-report.json``, as the ZAP actions zip their reports.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tests.unit.core.materials_kit import craft, error

from chainproof.core.materials import (
    DETECTION_ORDER,
    handler_for,
    ossf_scorecard_json,
    zap_dast_zip,
)
from chainproof.core.materials.base import MaterialHandler
from chainproof.core.materials.blackduck_sca_json import BlackduckScaJsonHandler
from chainproof.core.materials.checkmarx_json import CheckmarxJsonHandler, scan_types
from chainproof.core.materials.ossf_scorecard_json import OssfScorecardJsonHandler
from chainproof.core.materials.twistcli_scan_json import TwistcliScanJsonHandler
from chainproof.core.materials.zap_dast_zip import ZapDastZipHandler

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
SCANNERS = ASSETS / "scanners"
REPORTS = ASSETS / "reports"
BLACKDUCK = BlackduckScaJsonHandler()
TWISTCLI = TwistcliScanJsonHandler()
CHECKMARX = CheckmarxJsonHandler()
SCORECARD = OssfScorecardJsonHandler()
ZAP = ZapDastZipHandler()
MINE: tuple[MaterialHandler, ...] = (BLACKDUCK, TWISTCLI, CHECKMARX, SCORECARD, ZAP)
CATCH_ALLS = ("CONTAINER_IMAGE", "ARTIFACT", "STRING")
OTHERS: tuple[MaterialHandler, ...] = tuple(
    handler_for(kind)
    for kind in DETECTION_ORDER
    if kind not in CATCH_ALLS and kind not in {h.kind for h in MINE}
)
"""Every other kind the registry detects from content, the catch-alls aside: none may
accept a scanner report (two kinds of a tier accepting one value is an ambiguity)."""


def load(name: str) -> Any:
    return json.loads((SCANNERS / name).read_text(encoding="utf-8"))


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def truncated(tmp_path: Path, name: str) -> Path:
    text = (SCANNERS / name).read_text(encoding="utf-8")
    return write(tmp_path, "cut-" + name, text[: len(text) // 2])


def zap_zip(
    tmp_path: Path,
    entries: dict[str, bytes | str] | None = None,
    name: str = "zap_scan.zip",
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A zip as the ZAP actions upload it: the JSON, Markdown and HTML reports."""
    if entries is None:
        entries = {
            "report_json.json": (SCANNERS / "zap-report.json").read_bytes(),
            "report_md.md": "# ZAP Scanning Report\n",
            "report_html.html": "<html><body>ZAP Scanning Report</body></html>",
        }
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression) as zf:
        for entry, data in entries.items():
            zf.writestr(entry, data)
    return path


def zap_doc() -> dict[str, Any]:
    doc: dict[str, Any] = load("zap-report.json")
    return doc


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("blackduck-sca.json", "BLACKDUCK_SCA_JSON"),
        ("twistcli-images-scan.json", "TWISTCLI_SCAN_JSON"),
        ("checkmarx-one.json", "CHECKMARX_JSON"),
        ("scorecard-v5.json", "OSSF_SCORECARD_JSON"),
        ("scorecard-show-details.json", "OSSF_SCORECARD_JSON"),
    ],
)
def test_each_sample_is_accepted_by_its_kind_only(name: str, kind: str) -> None:
    accepted = [h.kind for h in (*MINE, *OTHERS) if h.accepts(str(SCANNERS / name))]
    assert accepted == [kind]


def test_zap_zip_is_accepted_by_zap_only(tmp_path: Path) -> None:
    path = str(zap_zip(tmp_path))
    assert [h.kind for h in (*MINE, *OTHERS) if h.accepts(path)] == ["ZAP_DAST_ZIP"]


@pytest.mark.parametrize(
    "value",
    [
        str(ASSETS / "cyclonedx-1.6.json"),
        str(ASSETS / "spdx-2.3.json"),
        str(ASSETS / "evidence.json"),
        str(ASSETS / "not-json.csv"),
        str(ASSETS / "empty.json"),
        str(REPORTS / "sarif-ruff.sarif"),
        str(SCANNERS / "blackduck-sca-missing-fields.json"),
        str(SCANNERS / "checkmarx-reports-service.json"),
        str(SCANNERS / "zap-report.json"),  # the report alone is not the zip
        str(SCANNERS / "missing.json"),
        str(SCANNERS),
        "",
        "sha256:abc",
    ],
)
def test_other_values_are_not_accepted(value: str) -> None:
    assert [h.kind for h in MINE if h.accepts(value)] == []


def test_near_misses_are_not_accepted(tmp_path: Path) -> None:
    twist = load("twistcli-images-scan.json")
    assert not TWISTCLI.accepts(str(write(tmp_path, "a.json", {**twist, "consoleURL": ""})))
    assert not TWISTCLI.accepts(str(write(tmp_path, "b.json", {"results": []})))
    card = load("scorecard-v5.json")
    del card["scorecard"]["version"]
    assert not SCORECARD.accepts(str(write(tmp_path, "c.json", card)))
    cx = {"scanID": "", "results": [], "totalCount": 0}
    assert not CHECKMARX.accepts(str(write(tmp_path, "d.json", cx)))
    untyped = {"scanID": "x", "results": [{"data": {}}]}
    assert not CHECKMARX.accepts(str(write(tmp_path, "e.json", untyped)))
    bd = load("blackduck-sca.json")
    bd["detailedCodeLocations"] = None
    assert not BLACKDUCK.accepts(str(write(tmp_path, "f.json", bd)))
    no_report = zap_zip(tmp_path, {"report_md.md": "# ZAP"}, name="md-only.zip")
    assert not ZAP.accepts(str(no_report))


@pytest.mark.parametrize(
    ("handler", "name", "pad"),
    [
        (BLACKDUCK, "blackduck-sca.json", "aggregateBomViewEntries"),
        (TWISTCLI, "twistcli-images-scan.json", "results"),
        (CHECKMARX, "checkmarx-one.json", "results"),
        (SCORECARD, "scorecard-v5.json", "checks"),
    ],
    ids=lambda v: getattr(v, "kind", None),
)
def test_large_reports_detected_by_head_and_tail(
    handler: MaterialHandler, name: str, pad: str, tmp_path: Path
) -> None:
    doc = load(name)
    filler = "x" * 70_000
    if pad == "aggregateBomViewEntries":
        doc[pad] = [{"componentName": filler}]
    elif pad == "checks":
        doc["checks"][0]["reason"] = filler
    else:
        doc["results"][0]["description"] = filler
    path = write(tmp_path, name, json.dumps(doc))
    assert path.stat().st_size > 65_536
    assert [h.kind for h in MINE if h.accepts(str(path))] == [handler.kind]
    craft(handler, path)


@pytest.mark.parametrize("handler", MINE, ids=lambda h: h.kind)
def test_missing_directory_and_empty(handler: MaterialHandler, tmp_path: Path) -> None:
    assert "does not exist" in error(handler, tmp_path / "nope.json").message
    assert "is a directory" in error(handler, tmp_path).message
    assert "is empty" in error(handler, write(tmp_path, "empty.json", "")).message
    assert "needs a file path" in error(handler, "").message


@pytest.mark.parametrize(
    "handler", (BLACKDUCK, TWISTCLI, CHECKMARX, SCORECARD), ids=lambda h: h.kind
)
def test_json_kinds_refuse_non_json_and_arrays(handler: MaterialHandler, tmp_path: Path) -> None:
    csv = error(handler, ASSETS / "not-json.csv").message
    assert csv.startswith("not-json.csv is not a valid ") and "not JSON at line 1" in csv
    array = error(handler, write(tmp_path, "array.json", "[]")).message
    assert "the top level is an array, not an object" in array


# --- BLACKDUCK_SCA_JSON ----------------------------------------------------------------------


def test_blackduck_report() -> None:
    material = craft(BLACKDUCK, SCANNERS / "blackduck-sca.json")
    assert material.summary == {
        "project": {"name": "payments-service", "version": "2.4.0"},
        "vulnerabilities": 5,
        "by_severity": {"CRITICAL": 2, "HIGH": 1, "LOW": 1, "MEDIUM": 1},
        "by_remediation_status": {
            "IGNORED": 1,
            "NEW": 2,
            "PATCHED": 1,
            "REMEDIATION_REQUIRED": 1,
        },
        "vulnerability_ids": 5,
        "components_affected": 4,
        "code_locations": 2,
    }
    assert material.annotations == {"chainproof.material.tools": '["blackduck"]'}


def test_blackduck_clean_report_and_release_summary(tmp_path: Path) -> None:
    doc = load("blackduck-sca.json")
    doc["detailedVulnerabilities"] = []
    doc["detailedReleaseSummary"] = {"projectName": "payments-service", "version": "2.5.0"}
    summary = craft(BLACKDUCK, write(tmp_path, "clean.json", doc)).summary
    assert summary["project"] == {"name": "payments-service", "version": "2.5.0"}
    assert (summary["vulnerabilities"], summary["by_severity"]) == (0, {})
    doc["detailedReleaseSummary"] = []
    assert craft(BLACKDUCK, write(tmp_path, "anon.json", doc)).summary["project"] == {
        "name": None,
        "version": None,
    }


def test_blackduck_missing_and_malformed_sections(tmp_path: Path) -> None:
    missing = error(BLACKDUCK, SCANNERS / "blackduck-sca-missing-fields.json")
    assert missing.message == (
        "blackduck-sca-missing-fields.json is not a Black Duck SCA JSON report: "
        "missing detailedCodeLocations"
    )
    assert "Reports tab" in str(missing.hint)
    doc = load("blackduck-sca.json")
    doc["detailedProjectVersionCustomFields"] = None
    null = error(BLACKDUCK, write(tmp_path, "null.json", doc)).message
    assert null.endswith("detailedProjectVersionCustomFields is null, not an array")
    doc = load("blackduck-sca.json")
    del doc["detailedVulnerabilities"][2]["vulnerabilityId"]
    no_id = error(BLACKDUCK, write(tmp_path, "noid.json", doc)).message
    assert no_id == (
        "noid.json is not a valid Black Duck SCA JSON report: detailedVulnerabilities[2] "
        "has no string 'vulnerabilityId'"
    )
    doc = load("blackduck-sca.json")
    doc["detailedVulnerabilities"][0]["severity"] = 9
    assert (
        "[0] severity is not a string" in error(BLACKDUCK, write(tmp_path, "s.json", doc)).message
    )
    doc["detailedVulnerabilities"] = ["CVE-2021-44228"]
    assert (
        "[0] is a string, not an object" in error(BLACKDUCK, write(tmp_path, "v.json", doc)).message
    )


def test_blackduck_truncated_and_wrong_kind(tmp_path: Path) -> None:
    cut = error(BLACKDUCK, truncated(tmp_path, "blackduck-sca.json"))
    assert "is not a valid Black Duck SCA JSON document: not JSON" in cut.message
    assert "truncated" in str(cut.hint)
    other = error(BLACKDUCK, SCANNERS / "twistcli-images-scan.json").message
    assert "missing detailedVulnerabilities, detailedProjectVersionCustomFields" in other


# --- TWISTCLI_SCAN_JSON ----------------------------------------------------------------------


def test_twistcli_images_scan() -> None:
    material = craft(TWISTCLI, SCANNERS / "twistcli-images-scan.json")
    assert material.summary == {
        "console_url": (
            "https://us-east1.cloud.twistlock.com/us-2-158254964/#!/monitor/vulnerabilities/"
            "images/ci?search=sha256%3A4c3c1e6f8a1d0c6f5b2a7e9d8c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b"
        ),
        "results": 1,
        "artifacts": ["registry.example.com/payments/api:2.4.0"],
        "vulnerabilities": 5,
        "by_severity": {"critical": 1, "high": 1, "low": 2, "medium": 1},
        "compliance_issues": 1,
        "compliance_by_severity": {"high": 1},
        "vulnerability_scan_passed": False,
        "compliance_scan_passed": True,
    }
    assert material.annotations == {"chainproof.material.tools": '["twistcli"]'}


def test_twistcli_several_results_and_missing_verdicts(tmp_path: Path) -> None:
    doc = load("twistcli-images-scan.json")
    clean: dict[str, Any] = {
        "id": "sha256:" + "ab" * 32,
        "vulnerabilities": None,
        "compliances": [],
    }
    doc["results"].append(clean)
    summary = craft(TWISTCLI, write(tmp_path, "two.json", doc)).summary
    assert summary["results"] == 2
    assert summary["artifacts"] == ["registry.example.com/payments/api:2.4.0", clean["id"]]
    assert summary["vulnerabilities"] == 5
    assert summary["vulnerability_scan_passed"] is None  # the second result does not say
    doc["results"] = []
    empty = craft(TWISTCLI, write(tmp_path, "none.json", doc)).summary
    assert (empty["results"], empty["vulnerabilities"], empty["compliance_scan_passed"]) == (
        0,
        0,
        None,
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d.pop("consoleURL"), "is not a twistcli scan report: missing consoleURL"),
        (lambda d: d.update(consoleURL=""), "consoleURL is not a non-empty string"),
        (lambda d: d.update(consoleURL=None), "consoleURL is not a non-empty string"),
        (lambda d: d.pop("results"), "is not a twistcli scan report: missing results"),
        (lambda d: d.update(results=None), "results is null, not an array"),
        (lambda d: d.update(results=[7.5]), "results[0] is a number, not an object"),
        (
            lambda d: d["results"][0].update(vulnerabilities={}),
            "results[0] vulnerabilities is an object, not an array",
        ),
        (
            lambda d: d["results"][0]["vulnerabilities"][1].pop("id"),
            "results[0] vulnerabilities[1] has no string 'id'",
        ),
        (
            lambda d: d["results"][0]["compliances"].append("CIS 4.1"),
            "results[0] compliances[1] is not an object",
        ),
        (
            lambda d: d["results"][0]["vulnerabilities"][0].update(severity=4),
            "results[0] vulnerabilities[0] severity is not a string",
        ),
    ],
)
def test_twistcli_malformed(change: Any, why: str, tmp_path: Path) -> None:
    doc = load("twistcli-images-scan.json")
    change(doc)
    assert why in error(TWISTCLI, write(tmp_path, "bad.json", doc)).message


def test_twistcli_truncated_and_wrong_kind(tmp_path: Path) -> None:
    cut = error(TWISTCLI, truncated(tmp_path, "twistcli-images-scan.json")).message
    assert "is not a valid twistcli scan document: not JSON" in cut
    other = error(TWISTCLI, SCANNERS / "checkmarx-one.json")
    assert other.message.endswith("is not a twistcli scan report: missing consoleURL")
    assert "--output-file" in str(other.hint)


# --- CHECKMARX_JSON --------------------------------------------------------------------------


def test_checkmarx_native_report() -> None:
    material = craft(CHECKMARX, SCANNERS / "checkmarx-one.json")
    assert material.summary == {
        "scan_id": "dc2b7f5c-625d-4236-891d-90869454aaf7",
        "total_count": 5,
        "results": 5,
        "by_engine": {"containers": 1, "kics": 1, "sast": 2, "sca": 1},
        "by_severity": {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 2},
        "by_state": {"CONFIRMED": 1, "NOT_EXPLOITABLE": 1, "TO_VERIFY": 3},
        "scan_types": ["container", "iac", "sast", "sca"],
    }
    assert material.annotations == {
        "chainproof.material.tools": '["checkmarx"]',
        "chainproof.material.scan.types": "container,iac,sast,sca",
    }


@pytest.mark.parametrize("results", [None, []], ids=["null", "empty"])
def test_checkmarx_clean_scan(results: Any, tmp_path: Path) -> None:
    doc = {"results": results, "totalCount": 0, "scanID": "0b6f2c7d-8a41-4f6e-b3d9-1c2e5a7f9d10"}
    path = write(tmp_path, "clean.json", doc)
    assert CHECKMARX.accepts(str(path))
    material = craft(CHECKMARX, path)
    assert material.summary["results"] == 0
    assert material.summary["scan_types"] == []
    assert material.annotations == {"chainproof.material.tools": '["checkmarx"]'}


def test_checkmarx_unknown_engines_are_left_out_of_scan_types(tmp_path: Path) -> None:
    doc = load("checkmarx-one.json")
    for result in doc["results"]:
        result["type"] = "apisec"
    doc["results"][0]["type"] = "SSCS"
    material = craft(CHECKMARX, write(tmp_path, "engines.json", doc))
    assert material.summary["by_engine"] == {"apisec": 4, "sscs": 1}
    assert material.annotations["chainproof.material.scan.types"] == "supply-chain"
    assert scan_types([{"type": "apisec"}]) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d.pop("scanID"), "is not a Checkmarx One JSON report: missing scanID"),
        (lambda d: d.pop("results"), "is not a Checkmarx One JSON report: missing results"),
        (lambda d: d.update(scanID=""), "scanID is not a non-empty string"),
        (lambda d: d.update(totalCount=-1), "totalCount is not a non-negative integer"),
        (lambda d: d.update(results={}), "results is an object, not an array"),
        (lambda d: d["results"].append("x"), "results[5] is a string, not an object"),
        (lambda d: d["results"][1].pop("type"), "results[1] has no engine 'type'"),
        (lambda d: d["results"][2].pop("data"), "results[2] has no 'data' object"),
        (lambda d: d["results"][2].update(data=None), "results[2] has no 'data' object"),
        (lambda d: d["results"][0].update(severity=3), "results[0] severity is not a string"),
    ],
)
def test_checkmarx_malformed(change: Any, why: str, tmp_path: Path) -> None:
    doc = load("checkmarx-one.json")
    change(doc)
    assert why in error(CHECKMARX, write(tmp_path, "bad.json", doc)).message


def test_checkmarx_other_documents(tmp_path: Path) -> None:
    reports = error(CHECKMARX, SCANNERS / "checkmarx-reports-service.json")
    assert "is a Checkmarx One Reports-service scan report, not the native" in reports.message
    assert "--report-format json" in str(reports.hint)
    sarif = error(CHECKMARX, REPORTS / "sarif-ruff.sarif")
    assert sarif.message == "sarif-ruff.sarif is a SARIF log, not a Checkmarx One JSON report"
    assert "--kind SARIF" in str(sarif.hint)
    cut = error(CHECKMARX, truncated(tmp_path, "checkmarx-one.json")).message
    assert "is not a valid Checkmarx One JSON document: not JSON" in cut


# --- OSSF_SCORECARD_JSON ---------------------------------------------------------------------


def test_scorecard_result() -> None:
    material = craft(SCORECARD, SCANNERS / "scorecard-v5.json")
    assert material.summary == {
        "score": 6.9,
        "repo": {
            "name": "github.com/example-org/payments-service",
            "commit": "2b0c6e38c7b1f5ea0f52e4f2b41e2d1f3a6c9d8e",
        },
        "date": "2024-07-02T14:27:17Z",
        "scorecard": {"version": "v5.0.0", "commit": "ea7e27ed41b76ab879c862fa0ca4cc9c61764ee4"},
        "check_count": 12,
        "checks": {
            "Binary-Artifacts": 10,
            "Branch-Protection": -1,
            "CI-Tests": 9,
            "Code-Review": 8,
            "Dangerous-Workflow": 10,
            "Dependency-Update-Tool": 10,
            "License": 10,
            "Maintained": 10,
            "Pinned-Dependencies": 3,
            "Security-Policy": 0,
            "Token-Permissions": 0,
            "Vulnerabilities": 7,
        },
        "inconclusive_checks": 1,
    }
    assert material.annotations == {
        "chainproof.material.tools": '["scorecard@v5.0.0"]',
        "chainproof.material.scorecard.score": "6.9",
    }


def test_scorecard_with_details_and_without_metadata(tmp_path: Path) -> None:
    material = craft(SCORECARD, SCANNERS / "scorecard-show-details.json")
    assert material.summary["checks"] == {"Binary-Artifacts": 10, "Pinned-Dependencies": 0}
    assert material.annotations["chainproof.material.scorecard.score"] == "5.0"
    doc = load("scorecard-v5.json")
    del doc["metadata"]  # the Scorecard REST API leaves it out
    for check in doc["checks"]:
        del check["details"]
    assert craft(SCORECARD, write(tmp_path, "api.json", doc)).summary["check_count"] == 12


def test_vendored_schema_is_upstream_and_relaxed_only_for_nulls() -> None:
    path = Path(ossf_scorecard_json.__file__).parent / "schemas" / ossf_scorecard_json.SCHEMA_FILE
    assert hashlib.sha256(path.read_bytes()).hexdigest() == (
        "7f03a184fd4ea211e0ba155d595385c5830c0b06f947eab4a7f83b4b4edff6a1"
    )
    from jsonschema import Draft7Validator

    upstream = json.loads(path.read_text(encoding="utf-8"))
    real = load("scorecard-v5.json")  # details and metadata are null, as scorecard writes them
    assert not Draft7Validator(upstream).is_valid(real)
    relaxed = ossf_scorecard_json.relaxed_schema(upstream)
    assert Draft7Validator(relaxed).is_valid(real)
    assert relaxed["required"] == ["date", "repo", "scorecard", "score", "checks"]
    assert upstream["required"][-1] == "metadata"  # the input was not changed


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d["checks"][1].pop("reason"), "checks[1]: 'reason' is a required property"),
        (lambda d: d["checks"][0].update(score="10"), "checks[0].score: '10' is not of type"),
        (lambda d: d["repo"].pop("commit"), "repo: 'commit' is a required property"),
        (lambda d: d.update(score="6.9"), "score: '6.9' is not of type 'number'"),
        (lambda d: d.pop("date"), "document: 'date' is a required property"),
        (
            lambda d: d["checks"][2]["documentation"].pop("url"),
            "checks[2].documentation: 'url' is a required property",
        ),
        (lambda d: d.update(metadata="none"), "metadata: 'none' is not of type 'array', 'null'"),
    ],
)
def test_scorecard_schema_violations(change: Any, why: str, tmp_path: Path) -> None:
    doc = load("scorecard-v5.json")
    change(doc)
    message = error(SCORECARD, write(tmp_path, "bad.json", doc)).message
    assert message.startswith("bad.json is not a valid OpenSSF Scorecard v2 result: ")
    assert why in message


def test_scorecard_scores_out_of_range(tmp_path: Path) -> None:
    doc = load("scorecard-v5.json")
    doc["checks"][3]["score"] = 11
    check = error(SCORECARD, write(tmp_path, "check.json", doc)).message
    assert check.endswith("checks[3] (Code-Review) score 11 is not within -1..10")
    doc = load("scorecard-v5.json")
    doc["score"] = 12.5
    assert (
        "score 12.5 is not within -1..10"
        in error(SCORECARD, write(tmp_path, "agg.json", doc)).message
    )


def test_scorecard_other_documents(tmp_path: Path) -> None:
    no_version = error(SCORECARD, SCANNERS / "blackduck-sca.json")
    assert no_version.message.endswith(
        "is not an OpenSSF Scorecard result: it has no scorecard.version"
    )
    assert "--format json" in str(no_version.hint)
    sarif = error(SCORECARD, REPORTS / "sarif-ruff.sarif")
    assert sarif.message == "sarif-ruff.sarif is a SARIF log, not an OpenSSF Scorecard JSON result"
    cut = error(SCORECARD, truncated(tmp_path, "scorecard-v5.json")).message
    assert "is not a valid OpenSSF Scorecard document: not JSON" in cut


# --- ZAP_DAST_ZIP ----------------------------------------------------------------------------


def test_zap_zip(tmp_path: Path) -> None:
    path = zap_zip(tmp_path)
    assert ZAP.accepts(str(path))
    material = craft(ZAP, path)  # the digest is of the zip, which is what is uploaded
    assert material.summary == {
        "report_entry": "report_json.json",
        "program": "ZAP",
        "version": "2.15.0",
        "generated": "2024-07-02T14:52:07.377059234Z",
        "sites": 2,
        "alerts": 6,
        "alerts_by_risk": {"High": 1, "Medium": 2, "Low": 2, "Informational": 1},
        "instances": 7,
    }
    assert material.annotations == {"chainproof.material.tools": '["ZAP@2.15.0"]'}


def test_zap_report_in_a_folder_and_root_first(tmp_path: Path) -> None:
    doc = zap_doc()
    nested = zap_zip(tmp_path, {"zap/report_json.json": json.dumps(doc)}, name="nested.zip")
    assert ZAP.accepts(str(nested))
    assert craft(ZAP, nested).summary["report_entry"] == "zap/report_json.json"
    other = {**doc, "@version": "2.14.0", "site": []}
    both = zap_zip(
        tmp_path,
        {"old/report_json.json": json.dumps(other), "report_json.json": json.dumps(doc)},
        name="both.zip",
    )
    summary = craft(ZAP, both).summary
    assert (summary["report_entry"], summary["version"]) == ("report_json.json", "2.15.0")
    twins = zap_zip(
        tmp_path,
        {"a/report_json.json": json.dumps(doc), "b/report_json.json": json.dumps(doc)},
        name="twins.zip",
    )
    assert "holds 2 report_json.json (a/report_json.json, b/report_json.json): ambiguous" in (
        error(ZAP, twins).message
    )


def test_zap_older_report_without_created_and_risk_from_riskcode(tmp_path: Path) -> None:
    doc = zap_doc()
    del doc["created"]
    alert = doc["site"][0]["alerts"][0]
    del alert["riskdesc"], alert["instances"]
    alert["riskdesc"] = "Hoch (Mittel)"  # ZAP localises riskdesc; riskcode 3 is High
    summary = craft(ZAP, zap_zip(tmp_path, {"report_json.json": json.dumps(doc)})).summary
    assert summary["generated"] == "Tue, 2 Jul 2024 14:52:07"
    assert summary["alerts_by_risk"]["High"] == 1
    assert summary["instances"] == 7  # the alert's "count" stands in for its instances
    doc["site"] = []
    empty = craft(ZAP, zap_zip(tmp_path, {"report_json.json": json.dumps(doc)}, name="e.zip"))
    assert (empty.summary["sites"], empty.summary["alerts"]) == (0, 0)


def test_zap_zip_without_report(tmp_path: Path) -> None:
    path = zap_zip(tmp_path, {"report_md.md": "# ZAP", "report.json": "{}"})
    err = error(ZAP, path)
    assert err.message == (
        "zap_scan.zip is not a valid ZAP DAST zip: it holds no ZAP JSON report (report_json.json)"
    )
    assert "report_json.json" in str(err.hint)
    macos = zap_zip(tmp_path, {"__MACOSX/report_json.json": "{}"}, name="mac.zip")
    assert "holds no ZAP JSON report" in error(ZAP, macos).message


def test_zap_not_a_zip(tmp_path: Path) -> None:
    report = error(ZAP, SCANNERS / "zap-report.json")
    assert report.message.startswith("zap-report.json is not a valid ZAP DAST zip: it is not a zip")
    assert str(report.hint) == "zip the JSON report as report_json.json"
    csv = error(ZAP, ASSETS / "not-json.csv")
    assert "it is not a zip archive" in csv.message
    cut = tmp_path / "cut.zip"
    cut.write_bytes(zap_zip(tmp_path).read_bytes()[:300])
    assert "it is not a zip archive" in error(ZAP, cut).message


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            lambda d: d.update({"@programName": "OWASP ZAP"}),
            "@programName is 'OWASP ZAP', expected",
        ),
        (lambda d: d.pop("@programName"), "@programName is missing, expected 'ZAP'"),
        (lambda d: d.pop("site"), "is not a valid ZAP JSON report: site is missing"),
        (lambda d: d.update(site={}), "site is an object, not an array"),
        (lambda d: d["site"].append("x"), "site[2] is a string, not an object"),
        (lambda d: d["site"][0].pop("@name"), "site[0] has no string '@name'"),
        (lambda d: d["site"][1].update(alerts=None), "site[1] alerts is not an array"),
        (
            lambda d: d["site"][0]["alerts"].append(True),
            "site[0] alerts[5] is a boolean, not an object",
        ),
        (
            lambda d: d["site"][0]["alerts"][2].update(riskcode="5"),
            "site[0] alerts[2] riskcode '5' is not 0..3",
        ),
        (
            lambda d: d["site"][0]["alerts"][2].pop("riskcode"),
            "site[0] alerts[2] riskcode None is not 0..3",
        ),
        (
            lambda d: [d["site"][0]["alerts"][1].pop(k) for k in ("name", "alert")],
            "site[0] alerts[1] has no name",
        ),
        (
            lambda d: d["site"][0]["alerts"][1].update(instances="2"),
            "site[0] alerts[1] instances is not an array",
        ),
    ],
)
def test_zap_malformed_report(change: Any, why: str, tmp_path: Path) -> None:
    doc = zap_doc()
    change(doc)
    message = error(ZAP, zap_zip(tmp_path, {"report_json.json": json.dumps(doc)})).message
    assert message.startswith("zap_scan.zip!report_json.json is not a")
    assert why in message


def test_zap_report_not_json(tmp_path: Path) -> None:
    text = (SCANNERS / "zap-report.json").read_text(encoding="utf-8")
    cut = error(ZAP, zap_zip(tmp_path, {"report_json.json": text[:2000]}))
    assert "zap_scan.zip!report_json.json is not a valid ZAP JSON report: not JSON" in cut.message
    assert "truncated" in str(cut.hint)
    latin = error(ZAP, zap_zip(tmp_path, {"report_json.json": b'{"a": "\xe9"}'}, name="l.zip"))
    assert (
        latin.message == "l.zip!report_json.json is not a ZAP JSON report: not UTF-8 text (byte 7)"
    )
    array = error(ZAP, zap_zip(tmp_path, {"report_json.json": "[]"}, name="a.zip"))
    assert "the top level is an array, not an object" in array.message


def test_zap_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = zap_zip(tmp_path)
    monkeypatch.setattr(zap_dast_zip, "MAX_ENTRIES", 2)
    assert "it has more than 2 entries" in error(ZAP, path).message
    monkeypatch.setattr(zap_dast_zip, "MAX_ENTRIES", 10_000)
    monkeypatch.setattr(zap_dast_zip, "MAX_UNCOMPRESSED_BYTES", 5_000)
    assert "it unpacks to more than 5000 bytes" in error(ZAP, path).message
    monkeypatch.setattr(zap_dast_zip, "MAX_UNCOMPRESSED_BYTES", 1 << 30)
    monkeypatch.setattr(zap_dast_zip, "MAX_REPORT_BYTES", 4_096)
    monkeypatch.setattr(zap_dast_zip, "_CHUNK", 1_024)
    assert "report_json.json unpacks to more than 4096 bytes" in error(ZAP, path).message
    monkeypatch.setattr(zap_dast_zip, "MAX_ZIP_BYTES", 1_000)
    assert "it is larger than 1000 bytes" in error(ZAP, path).message


def test_zap_understated_sizes_pass_the_declared_limit_but_not_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip whose headers understate the report's size (a zip bomb's trick) gets past the
    declared-size limit, but zipfile reads no more than declared and the CRC then fails."""
    doc = zap_doc()
    doc["padding"] = " " * 200_000
    path = zap_zip(tmp_path, {"report_json.json": json.dumps(doc)})
    monkeypatch.setattr(zap_dast_zip, "MAX_UNCOMPRESSED_BYTES", 100_000)
    assert "it unpacks to more than 100000 bytes" in error(ZAP, path).message
    data = bytearray(path.read_bytes())
    size = struct.pack("<I", len(json.dumps(doc).encode()))
    forged = _all(data, size)
    assert len(forged) == 2  # the local header and the central directory
    for offset in forged:
        data[offset : offset + 4] = struct.pack("<I", 10)
    path.write_bytes(bytes(data))
    message = error(ZAP, path).message
    assert message == (
        "zap_scan.zip is not a valid ZAP DAST zip: report_json.json is corrupt "
        "(Bad CRC-32 for file 'report_json.json')"
    )


def _all(data: bytearray, needle: bytes) -> list[int]:
    found, start = [], 0
    while (index := data.find(needle, start)) >= 0:
        found.append(index)
        start = index + 1
    return found


def test_zap_corrupt_encrypted_and_symlinked_entries(tmp_path: Path) -> None:
    stored = zap_zip(tmp_path, compression=zipfile.ZIP_STORED)
    data = bytearray(stored.read_bytes())
    marker = data.find(b'"@programName": "ZAP"')
    data[marker + 17] = ord("X")  # same size, wrong CRC: "ZAP" -> "XAP"
    stored.write_bytes(bytes(data))
    assert "report_json.json is corrupt (Bad CRC-32" in error(ZAP, stored).message

    locked = zap_zip(tmp_path, name="locked.zip")
    data = bytearray(locked.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for offset in _all(data, signature):
            data[offset + flag_offset] |= 0x01  # the "encrypted" bit
    locked.write_bytes(bytes(data))
    assert "cannot read report_json.json" in error(ZAP, locked).message

    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("report_json.json")
        info.external_attr = (0o120777 << 16) | 0x10
        zf.writestr(info, "/etc/passwd")
    assert "report_json.json is not a regular file" in error(ZAP, link).message
