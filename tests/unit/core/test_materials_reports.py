"""Report evidence kinds (SARIF, JUNIT_XML, JACOCO_XML, COBERTURA_XML) against sample files in
tests/assets/materials/reports: ruff's SARIF and pytest's JUnit XML were produced by the tools,
the others are written by hand after real reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.core.materials_kit import craft, error

from chainproof.core.materials.base import MaterialHandler
from chainproof.core.materials.cobertura_xml import CoberturaXmlHandler
from chainproof.core.materials.jacoco_xml import JacocoXmlHandler
from chainproof.core.materials.junit_xml import JUnitXmlHandler
from chainproof.core.materials.sarif import SarifHandler

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
REPORTS = ASSETS / "reports"
SARIF = SarifHandler()
JUNIT = JUnitXmlHandler()
JACOCO = JacocoXmlHandler()
COBERTURA = CoberturaXmlHandler()
HANDLERS: tuple[MaterialHandler, ...] = (SARIF, JUNIT, JACOCO, COBERTURA)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sarif-ruff.sarif", "SARIF"),
        ("sarif-codeql.sarif", "SARIF"),
        ("sarif-invalid.sarif", "SARIF"),
        ("sarif-no-schema.json", "SARIF"),
        ("junit-pytest.xml", "JUNIT_XML"),
        ("junit-surefire.xml", "JUNIT_XML"),
        ("junit-no-suites.xml", "JUNIT_XML"),
        ("jacoco.xml", "JACOCO_XML"),
        ("jacoco-no-instruction.xml", "JACOCO_XML"),
        ("cobertura-coveragepy.xml", "COBERTURA_XML"),
        ("cobertura-maven.xml", "COBERTURA_XML"),
        ("clover.xml", "COBERTURA_XML"),  # craft tells Clover apart
    ],
)
def test_each_sample_is_accepted_by_its_kind_only(name: str, kind: str) -> None:
    accepted = [h.kind for h in HANDLERS if h.accepts(str(REPORTS / name))]
    assert accepted == [kind]


@pytest.mark.parametrize(
    "value",
    [
        str(ASSETS / "cyclonedx-1.6.json"),
        str(ASSETS / "spdx-2.3.json"),
        str(ASSETS / "evidence.json"),
        str(ASSETS / "not-json.csv"),
        str(ASSETS / "empty.json"),
        str(REPORTS / "missing.xml"),
        str(REPORTS),
        "",
        "sha256:abc",
    ],
)
def test_other_values_are_not_accepted(value: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(value)] == []


def test_xml_root_found_after_prolog_comments_and_doctype(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.xml",
        '\ufeff<?xml version="1.0"?>\n<!-- <testsuite> in a comment -->\n'
        '<!DOCTYPE coverage SYSTEM "coverage-04.dtd">\n<coverage line-rate="1"/>',
    )
    assert COBERTURA.accepts(str(path))
    assert not JUNIT.accepts(str(path))


def test_a_generic_report_root_is_not_jacoco(tmp_path: Path) -> None:
    assert not JACOCO.accepts(str(write(tmp_path, "r.xml", "<report><title/></report>")))


def test_large_sarif_detected_by_its_head(tmp_path: Path) -> None:
    doc = json.loads((REPORTS / "sarif-ruff.sarif").read_text())
    doc["runs"][0]["properties"] = {"padding": "x" * 70_000}
    path = write(tmp_path, "big.sarif", json.dumps(doc))
    assert SARIF.accepts(str(path))
    assert SARIF.craft("big", str(path)).summary["result_count"] == 2


# --- SARIF -----------------------------------------------------------------------------------


def test_sarif_from_ruff() -> None:
    material = craft(SARIF, REPORTS / "sarif-ruff.sarif")
    assert material.summary == {
        "version": "2.1.0",
        "tool": {"name": "ruff", "version": "0.17.6"},
        "tools": [{"name": "ruff", "version": "0.17.6"}],
        "run_count": 1,
        "rule_count": 2,
        "result_count": 2,
        "results_by_level": {"error": 2, "warning": 0, "note": 0, "none": 0},
    }
    assert material.annotations == {"chainproof.material.tools": '["ruff@0.17.6"]'}


def test_sarif_effective_levels_and_runs() -> None:
    summary = craft(SARIF, REPORTS / "sarif-codeql.sarif").summary
    # explicit level; rule default (error, note); no default -> warning; kind "pass" -> none
    assert summary["results_by_level"] == {"error": 1, "warning": 2, "note": 1, "none": 1}
    assert summary["tool"] == {"name": "CodeQL", "version": "2.19.3"}
    assert summary["tools"] == [summary["tool"]]
    assert (summary["run_count"], summary["rule_count"], summary["result_count"]) == (2, 3, 5)


def test_sarif_rule_default_found_by_id_and_no_runs(tmp_path: Path) -> None:
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gosec",
                        "rules": [{"id": "G101", "defaultConfiguration": {"level": "note"}}],
                    }
                },
                "results": [{"ruleId": "G101", "message": {"text": "hard-coded credential"}}],
            }
        ],
    }
    summary = craft(SARIF, write(tmp_path, "g.sarif", json.dumps(doc))).summary
    assert summary["results_by_level"]["note"] == 1
    assert summary["tool"] == {"name": "gosec", "version": None}
    doc["runs"] = []
    empty = craft(SARIF, write(tmp_path, "n.sarif", json.dumps(doc)))
    assert empty.summary["run_count"] == 0
    assert empty.summary["tool"] == {"name": None, "version": None}
    assert empty.annotations == {}


def test_sarif_schema_violations_with_paths() -> None:
    message = error(SARIF, REPORTS / "sarif-invalid.sarif").message
    assert message.startswith("sarif-invalid.sarif is not a valid SARIF 2.1.0 log: ")
    assert "runs[0].results[0].level: 'fatal' is not one of" in message
    assert "runs[0].results[1]: 'message' is a required property" in message


def test_sarif_requires_schema_and_version(tmp_path: Path) -> None:
    assert "$schema is missing" in error(SARIF, REPORTS / "sarif-no-schema.json").message
    base = json.loads((REPORTS / "sarif-ruff.sarif").read_text())
    other = write(tmp_path, "a.sarif", json.dumps({**base, "$schema": "https://x.dev/s.json"}))
    assert "is not a SARIF schema" in error(SARIF, other).message
    old = write(tmp_path, "b.sarif", json.dumps({**base, "version": "2.0.0"}))
    assert "SARIF version is '2.0.0'; only 2.1.0 is supported" in error(SARIF, old).message
    no_runs = write(tmp_path, "c.sarif", json.dumps({"$schema": base["$schema"]}))
    assert "it has no 'runs'" in error(SARIF, no_runs).message


def test_sarif_truncated_not_json_and_wrong_kind(tmp_path: Path) -> None:
    truncated = error(SARIF, REPORTS / "sarif-truncated.sarif").message
    assert truncated.startswith("sarif-truncated.sarif is not a valid SARIF document: not JSON")
    assert "is not a valid SARIF document: not JSON" in error(SARIF, REPORTS / "jacoco.xml").message
    cdx = error(SARIF, ASSETS / "cyclonedx-1.6.json")
    assert cdx.message == "cyclonedx-1.6.json is a CycloneDX JSON document, not a SARIF log"
    assert "--kind SBOM_CYCLONEDX_JSON" in str(cdx.hint)
    array = write(tmp_path, "a.sarif", "[]")
    assert "the top level is a JSON list, not an object" in error(SARIF, array).message


# --- JUNIT_XML -------------------------------------------------------------------------------


def test_junit_from_pytest() -> None:
    material = craft(JUNIT, REPORTS / "junit-pytest.xml")
    assert material.summary == {
        "tests": 6,
        "failures": 1,
        "errors": 1,
        "skipped": 1,
        "passed": 3,
        "time": 0.03,
        "suite_count": 1,
    }
    assert material.annotations == {}


def test_junit_single_surefire_suite() -> None:
    summary = craft(JUNIT, REPORTS / "junit-surefire.xml").summary
    assert summary == {
        "tests": 4,
        "failures": 1,
        "errors": 0,
        "skipped": 1,
        "passed": 2,
        "time": 0.412,
        "suite_count": 1,
    }


def test_junit_nested_suites_without_times(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nested.xml",
        "<testsuites><testsuite name='a'><testsuite name='a.b'>"
        "<testcase name='t1' time='1.5'/><testcase name='t2' time='1,000.25'><error/></testcase>"
        "</testsuite></testsuite><testsuite name='c'><testcase name='t3'/></testsuite>"
        "</testsuites>",
    )
    summary = craft(JUNIT, path).summary
    assert summary["suite_count"] == 3
    assert (summary["tests"], summary["errors"], summary["passed"]) == (3, 1, 2)
    assert summary["time"] == 1001.75  # summed from the test cases


@pytest.mark.parametrize(
    ("xml", "why"),
    [
        ("<testsuite name='s' tests='many'/>", "has tests='many', expected a non-negative"),
        ("<testsuite name='s' failures='-1'/>", "has failures='-1'"),
        ("<testsuite name='s'><testcase time='1'/></testsuite>", "a <testcase> has no name"),
        ("<testsuite name='s' time='soon'/>", "has time='soon', expected seconds"),
        ("<testsuite><testcase name='t' time='nan'/></testsuite>", "has time='nan'"),
    ],
)
def test_junit_malformed(tmp_path: Path, xml: str, why: str) -> None:
    message = error(JUNIT, write(tmp_path, "bad.xml", xml)).message
    assert message.startswith("bad.xml is not a valid JUnit XML report: ")
    assert why in message


def test_junit_without_suites_truncated_and_wrong_kind(tmp_path: Path) -> None:
    assert "holds no <testsuite>" in error(JUNIT, REPORTS / "junit-no-suites.xml").message
    truncated = error(JUNIT, REPORTS / "junit-truncated.xml")
    assert "not well-formed XML at line 16 column 3" in truncated.message
    assert "truncated" in str(truncated.hint)
    jacoco = error(JUNIT, REPORTS / "jacoco.xml")
    assert jacoco.message == "jacoco.xml is a JaCoCo XML report (root <report>), not JUnit XML"
    assert "--kind JACOCO_XML" in str(jacoco.hint)
    other = error(JUNIT, write(tmp_path, "pom.xml", "<project/>"))
    assert "the root element is <project>, expected <testsuites> or <testsuite>" in other.message
    sarif = error(JUNIT, REPORTS / "sarif-ruff.sarif")
    assert "sarif-ruff.sarif is not a JUnit XML report: it is JSON" in sarif.message
    csv = error(JUNIT, ASSETS / "not-json.csv")
    assert "it is not XML" in csv.message


def test_xml_entities_are_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><testsuite name="&b;"/>'
    )
    err = error(JUNIT, write(tmp_path, "bomb.xml", bomb))
    assert "is not a JUnit XML report it can trust" in err.message
    external = '<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite name="&x;"/>'
    assert "it can trust" in error(JUNIT, write(tmp_path, "ext.xml", external)).message


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.kind)
def test_missing_directory_and_empty(handler: MaterialHandler, tmp_path: Path) -> None:
    assert "does not exist" in error(handler, tmp_path / "nope.xml").message
    assert "is a directory" in error(handler, tmp_path).message
    assert "is empty" in error(handler, write(tmp_path, "empty.xml", "")).message


# --- JACOCO_XML ------------------------------------------------------------------------------


def test_jacoco() -> None:
    summary = craft(JACOCO, REPORTS / "jacoco.xml").summary
    assert summary["report_name"] == "payments-service"
    assert summary["coverage"] == {
        "INSTRUCTION": 77.94,
        "BRANCH": 75.0,
        "LINE": 76.47,
        "COMPLEXITY": 57.14,
        "METHOD": 66.67,
        "CLASS": 50.0,
    }
    assert summary["counters"]["INSTRUCTION"] == {"missed": 15, "covered": 53, "coverage": 77.94}
    assert (summary["package_count"], summary["session_count"]) == (2, 1)


def test_jacoco_counter_with_nothing_to_cover(tmp_path: Path) -> None:
    xml = '<report name="r"><counter type="INSTRUCTION" missed="0" covered="0"/></report>'
    assert craft(JACOCO, write(tmp_path, "r.xml", xml)).summary["coverage"] == {"INSTRUCTION": None}


@pytest.mark.parametrize(
    ("xml", "why"),
    [
        ('<report><counter type="INSTRUCTION" missed="1" covered="1"/></report>', "no name"),
        ('<report name="r"><counter type="LINES" missed="1" covered="1"/></report>', "'LINES'"),
        ('<report name="r"><counter type="INSTRUCTION" missed="1"/></report>', "needs 'missed'"),
        ('<report name="r"><counter type="INSTRUCTION" missed="x" covered="1"/></report>', "'x'"),
        (
            '<report name="r"><package name="p"><counter type="INSTRUCTION" missed="1" '
            'covered="1"/></package></report>',
            "no INSTRUCTION counter (report-level counters found: none)",
        ),
    ],
)
def test_jacoco_malformed(tmp_path: Path, xml: str, why: str) -> None:
    message = error(JACOCO, write(tmp_path, "bad.xml", xml)).message
    assert message.startswith("bad.xml is not a valid JaCoCo XML report: ")
    assert why in message


def test_jacoco_invalid_samples_and_wrong_kind() -> None:
    assert "found: LINE" in error(JACOCO, REPORTS / "jacoco-no-instruction.xml").message
    assert "not well-formed XML" in error(JACOCO, REPORTS / "jacoco-truncated.xml").message
    cobertura = error(JACOCO, REPORTS / "cobertura-maven.xml")
    assert cobertura.message == (
        "cobertura-maven.xml is a Cobertura XML report (root <coverage>), not JaCoCo XML"
    )


# --- COBERTURA_XML ---------------------------------------------------------------------------


def test_cobertura_from_coverage_py() -> None:
    material = craft(COBERTURA, REPORTS / "cobertura-coveragepy.xml")
    assert material.summary == {
        "line_rate": 0.7778,
        "branch_rate": 0.5,
        "line_coverage": 77.78,
        "branch_coverage": 50.0,
        "lines_covered": 7,
        "lines_valid": 9,
        "branches_covered": 1,
        "branches_valid": 2,
        "package_count": 1,
        "class_count": 2,
        "tool": {"name": "coverage.py", "version": "7.6.4"},
    }
    assert material.annotations == {"chainproof.material.tools": '["coverage.py@7.6.4"]'}


def test_cobertura_from_maven_plugin() -> None:
    material = craft(COBERTURA, REPORTS / "cobertura-maven.xml")
    assert material.summary["line_coverage"] == 62.5
    assert (material.summary["lines_covered"], material.summary["lines_valid"]) == (5, 8)
    assert material.annotations == {}


def test_cobertura_counts_lines_when_attributes_are_missing(tmp_path: Path) -> None:
    xml = (
        '<coverage line-rate="0.5" version="gcovr 7.2"><packages><package name="p"><classes>'
        '<class name="a.c"><methods><method name="m"><lines><line number="1" hits="1"/></lines>'
        '</method></methods><lines><line number="1" hits="4"/><line number="2" hits="0"/>'
        "</lines></class></classes></package></packages></coverage>"
    )
    material = craft(COBERTURA, write(tmp_path, "gcovr.xml", xml))
    assert (material.summary["lines_covered"], material.summary["lines_valid"]) == (1, 2)
    assert material.summary["branch_rate"] is None
    assert material.summary["branch_coverage"] is None
    assert material.annotations == {"chainproof.material.tools": '["gcovr@7.2"]'}


def test_cobertura_zero_rate_with_packages_is_data(tmp_path: Path) -> None:
    xml = '<coverage line-rate="0"><packages><package name="p"/></packages></coverage>'
    assert craft(COBERTURA, write(tmp_path, "zero.xml", xml)).summary["line_coverage"] == 0.0


@pytest.mark.parametrize(
    ("xml", "why"),
    [
        ('<coverage branch-rate="0.5"><packages/></coverage>', "<coverage> has no line-rate"),
        ('<coverage line-rate="1.5"/>', "line-rate='1.5' is not a rate between 0 and 1"),
        ('<coverage line-rate="NaN"/>', "line-rate='NaN'"),
        ('<coverage line-rate="1" branch-rate="half"/>', "branch-rate='half'"),
        ('<coverage line-rate="1" lines-valid="-3"/>', "lines-valid='-3'"),
    ],
)
def test_cobertura_malformed(tmp_path: Path, xml: str, why: str) -> None:
    message = error(COBERTURA, write(tmp_path, "bad.xml", xml)).message
    assert message.startswith("bad.xml is not a valid Cobertura XML report: ")
    assert why in message


def test_cobertura_dataless_clover_and_wrong_kind() -> None:
    dataless = error(COBERTURA, REPORTS / "cobertura-dataless.xml").message
    assert dataless == (
        "cobertura-dataless.xml is a dataless Cobertura XML report: line-rate is 0 and it has "
        "no packages"
    )
    clover = error(COBERTURA, REPORTS / "clover.xml").message
    assert clover == "clover.xml is a Clover coverage report, not Cobertura"
    junit = error(COBERTURA, REPORTS / "junit-pytest.xml").message
    assert junit == "junit-pytest.xml is a JUnit XML report (root <testsuites>), not Cobertura XML"
