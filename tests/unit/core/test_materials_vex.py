"""VEX and advisory evidence kinds (CSAF_* and OPENVEX) against the documents in
tests/assets/materials/vex (see its README: real CSAF 2.0 examples and the OASIS profile test
files, plus hand-written VEX documents after Red Hat's and vexctl's output)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.core.materials_kit import craft, error

from chainproof.core.materials._vex import (
    is_rfc3339_date_time,
    is_uri,
    json_pointer,
)
from chainproof.core.materials.base import MaterialHandler
from chainproof.core.materials.csaf import (
    MAX_CVES,
    CsafHandler,
    CsafInformationalAdvisoryHandler,
    CsafSecurityAdvisoryHandler,
    CsafSecurityIncidentResponseHandler,
    CsafVexHandler,
)
from chainproof.core.materials.openvex import OpenVexHandler
from chainproof.core.materials.sarif import SarifHandler
from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler
from chainproof.core.materials.sbom_spdx_json import SpdxJsonHandler

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
VEX = ASSETS / "vex"
CSAF_VEX = CsafVexHandler()
INFORMATIONAL = CsafInformationalAdvisoryHandler()
ADVISORY = CsafSecurityAdvisoryHandler()
INCIDENT = CsafSecurityIncidentResponseHandler()
OPENVEX = OpenVexHandler()
CSAF: tuple[CsafHandler, ...] = (CSAF_VEX, INFORMATIONAL, ADVISORY, INCIDENT)
HANDLERS: tuple[MaterialHandler, ...] = (*CSAF, OPENVEX)
OTHERS: tuple[MaterialHandler, ...] = (CycloneDXJsonHandler(), SpdxJsonHandler(), SarifHandler())

VEX_DOC = VEX / "csaf-vex-acme-2024-0042.json"
ADVISORY_DOC = VEX / "csaf-advisory-bsi-2022-0001.json"
INFORMATIONAL_DOC = VEX / "csaf-informational-rhsa-2019_1862.json"
INCIDENT_DOC = VEX / "csaf-incident-response-acme-2024-0003.json"
OPENVEX_DOC = VEX / "openvex-acme-appliance.json"
SPEC_EXAMPLE = VEX / "openvex-spec-example.json"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2), encoding="utf-8")
    return path


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("csaf-vex-acme-2024-0042.json", "CSAF_VEX"),
        ("csaf-vex-invalid.json", "CSAF_VEX"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-01.json", "CSAF_VEX"),
        ("csaf-advisory-bsi-2022-0001.json", "CSAF_SECURITY_ADVISORY"),
        ("csaf-informational-rhsa-2019_1862.json", "CSAF_INFORMATIONAL_ADVISORY"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-27-03-01.json", "CSAF_INFORMATIONAL_ADVISORY"),
        ("csaf-incident-response-acme-2024-0003.json", "CSAF_SECURITY_INCIDENT_RESPONSE"),
        ("openvex-acme-appliance.json", "OPENVEX"),
        ("openvex-spec-example.json", "OPENVEX"),
        ("openvex-invalid.json", "OPENVEX"),
    ],
)
def test_each_sample_is_accepted_by_its_kind_only(name: str, kind: str) -> None:
    value = str(VEX / name)
    assert [h.kind for h in HANDLERS if h.accepts(value)] == [kind]
    assert [h.kind for h in OTHERS if h.accepts(value)] == []


@pytest.mark.parametrize(
    "value",
    [
        str(ASSETS / "cyclonedx-1.6.json"),
        str(ASSETS / "spdx-2.3.json"),
        str(ASSETS / "evidence.json"),
        str(ASSETS / "not-json.csv"),
        str(ASSETS / "empty.json"),
        str(VEX / "csaf-vex-truncated.json"),  # neither parsed nor large: not recognised
        str(VEX / "missing.json"),
        str(VEX),
        "",
        "sha256:abc",
    ],
)
def test_other_values_are_not_accepted(value: str) -> None:
    assert [h.kind for h in HANDLERS if h.accepts(value)] == []


def test_csaf_base_and_vendor_categories_are_not_detected(tmp_path: Path) -> None:
    doc = load(ADVISORY_DOC)
    for category in ("csaf_base", "Example Company Security Notice"):
        doc["document"]["category"] = category
        assert not any(h.accepts(str(write(tmp_path, "c.json", doc))) for h in HANDLERS)


def test_large_documents_detected_by_their_head(tmp_path: Path) -> None:
    doc = load(VEX_DOC)
    doc["document"]["notes"][0]["text"] = "x" * 70_000  # head is 64 KiB
    vex = write(tmp_path, "big-vex.json", doc)
    assert [h.kind for h in HANDLERS if h.accepts(str(vex))] == ["CSAF_VEX"]
    assert craft(CSAF_VEX, vex).summary["vulnerabilities"] == 2
    doc["document"]["category"] = "csaf_security_advisory"
    advisory = write(tmp_path, "big-advisory.json", doc)
    assert [h.kind for h in HANDLERS if h.accepts(str(advisory))] == ["CSAF_SECURITY_ADVISORY"]
    openvex = load(OPENVEX_DOC)
    openvex["statements"][0]["status_notes"] = "y" * 70_000
    big = write(tmp_path, "big.openvex.json", openvex)
    assert [h.kind for h in HANDLERS if h.accepts(str(big))] == ["OPENVEX"]
    assert craft(OPENVEX, big).summary["statements"] == 5


# --- CSAF: valid documents -------------------------------------------------------------------


def test_csaf_vex_summary() -> None:
    material = craft(CSAF_VEX, VEX_DOC)
    assert material.summary == {
        "category": "csaf_vex",
        "csaf_version": "2.0",
        "title": "ACME Appliance: exploitability of OpenSSH and HTTP/2 vulnerabilities",
        "tracking": {"id": "ACME-VEX-2024-0042", "status": "final", "version": "2"},
        "publisher": {
            "name": "ACME Product Security",
            "category": "vendor",
            "namespace": "https://psirt.acme.example",
        },
        "vulnerabilities": 2,
        "cve_count": 2,
        "cves": ["CVE-2024-6387", "CVE-2023-44487"],
        "tool": {"name": "Secvisogram", "version": "2.5.3"},
        "product_status": {
            "known_affected": 1,
            "fixed": 1,
            "known_not_affected": 2,
            "under_investigation": 1,
        },
    }
    assert material.annotations == {"chainproof.material.tools": '["Secvisogram@2.5.3"]'}


def test_csaf_security_advisory_from_bsi() -> None:
    material = craft(ADVISORY, ADVISORY_DOC)
    assert material.summary == {
        "category": "csaf_security_advisory",
        "csaf_version": "2.0",
        "title": "CVRF-CSAF-Converter: XML External Entities Vulnerability",
        "tracking": {"id": "BSI-2022-0001", "status": "final", "version": "1"},
        "publisher": {
            "name": "Bundesamt für Sicherheit in der Informationstechnik",
            "category": "coordinator",
            "namespace": "https://www.bsi.bund.de",
        },
        "vulnerabilities": 1,
        "cve_count": 1,
        "cves": ["CVE-2022-27193"],
        "tool": {"name": "Secvisogram", "version": "1.12.1"},
    }
    assert material.annotations == {"chainproof.material.tools": '["Secvisogram@1.12.1"]'}


def test_csaf_informational_advisory_from_red_hat() -> None:
    material = craft(INFORMATIONAL, INFORMATIONAL_DOC)
    summary = material.summary
    assert summary["category"] == "csaf_informational_advisory"
    assert summary["tracking"] == {"id": "RHSA-2019:1862", "status": "final", "version": "1"}
    assert summary["publisher"] == {
        "name": "Red Hat Product Security",
        "category": "vendor",
        "namespace": "https://www.redhat.com",
    }
    assert (summary["vulnerabilities"], summary["cve_count"], summary["cves"]) == (0, 0, [])
    assert "product_status" not in summary
    assert material.annotations == {"chainproof.material.tools": '["Red Hat SDEngine@3.5.0"]'}


def test_csaf_incident_response_without_generator() -> None:
    material = craft(INCIDENT, INCIDENT_DOC)
    assert material.summary["tracking"] == {
        "id": "ACME-IR-2024-0003",
        "status": "interim",
        "version": "1.1.0",
    }
    assert material.summary["cves"] == ["CVE-2024-3094"]
    assert material.summary["tool"] is None
    assert material.annotations == {}


def test_csaf_cve_list_is_capped_and_deduplicated(tmp_path: Path) -> None:
    doc = load(VEX_DOC)
    template = doc["vulnerabilities"][1]
    doc["vulnerabilities"] = [
        {**template, "cve": f"CVE-2024-{10000 + i // 2}"} for i in range(2 * (MAX_CVES + 10))
    ]
    summary = craft(CSAF_VEX, write(tmp_path, "many.json", doc)).summary
    assert summary["vulnerabilities"] == 2 * (MAX_CVES + 10)
    assert summary["cve_count"] == MAX_CVES + 10
    assert summary["cves"] == [f"CVE-2024-{10000 + i}" for i in range(MAX_CVES)]
    assert summary["product_status"]["under_investigation"] == 2 * (MAX_CVES + 10)


# --- CSAF: wrong profile, wrong format -------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "path", "right"),
    [
        (CSAF_VEX, ADVISORY_DOC, "CSAF_SECURITY_ADVISORY"),
        (ADVISORY, VEX_DOC, "CSAF_VEX"),
        (INCIDENT, INFORMATIONAL_DOC, "CSAF_INFORMATIONAL_ADVISORY"),
        (INFORMATIONAL, INCIDENT_DOC, "CSAF_SECURITY_INCIDENT_RESPONSE"),
    ],
)
def test_csaf_wrong_profile_names_the_right_kind(
    handler: CsafHandler, path: Path, right: str
) -> None:
    found = load(path)["document"]["category"]
    err = error(handler, path)
    assert err.message.startswith(
        f"{path.name} is not a valid {handler.label} document: /document/category: "
        f"'{handler.category}' expected, found '{found}'"
    )
    assert err.hint == f"add it with --kind {right}"


def test_csaf_other_categories_have_no_kind(tmp_path: Path) -> None:
    doc = load(ADVISORY_DOC)
    doc["document"]["category"] = "csaf_base"
    err = error(ADVISORY, write(tmp_path, "base.json", doc))
    assert err.message == (
        "base.json is not a valid CSAF security advisory document: /document/category: "
        "'csaf_security_advisory' expected, found 'csaf_base'"
    )
    assert "add other CSAF documents as EVIDENCE" in str(err.hint)


def test_csaf_version_must_be_2_0(tmp_path: Path) -> None:
    doc = load(VEX_DOC)
    doc["document"]["csaf_version"] = "2.1"
    newer = error(CSAF_VEX, write(tmp_path, "v21.json", doc)).message
    assert newer.endswith("/document/csaf_version: '2.0' expected, found '2.1'")
    del doc["document"]["csaf_version"]
    assert "found missing" in error(CSAF_VEX, write(tmp_path, "none.json", doc)).message


def test_csaf_wrong_formats(tmp_path: Path) -> None:
    cdx = error(CSAF_VEX, ASSETS / "cyclonedx-1.6.json")
    assert cdx.message == "cyclonedx-1.6.json is a CycloneDX JSON document, not a CSAF VEX document"
    assert cdx.hint == "add it with --kind SBOM_CYCLONEDX_JSON"
    openvex = error(ADVISORY, OPENVEX_DOC)
    assert openvex.message == (
        "openvex-acme-appliance.json is an OpenVEX document, not a CSAF security advisory document"
    )
    assert openvex.hint == "add it with --kind OPENVEX"
    array = error(CSAF_VEX, write(tmp_path, "a.json", "[]")).message
    assert array == "a.json is not a CSAF VEX document: the top level is an array, not an object"
    nodoc = error(CSAF_VEX, write(tmp_path, "n.json", {"vulnerabilities": []})).message
    assert nodoc.startswith("n.json is not a CSAF document: /document is missing")


@pytest.mark.parametrize("handler", CSAF)
def test_csaf_unreadable_inputs(handler: CsafHandler, tmp_path: Path) -> None:
    truncated = error(handler, VEX / "csaf-vex-truncated.json").message
    assert truncated.startswith(
        f"csaf-vex-truncated.json is not a valid {handler.label} document: not JSON at line "
    )
    assert "not JSON at line 1 column 1" in error(handler, ASSETS / "not-json.csv").message
    assert error(handler, ASSETS / "empty.json").message.endswith("empty.json is empty")
    assert "is a directory, not a file" in error(handler, VEX).message
    assert "does not exist" in error(handler, VEX / "missing.json").message
    assert "needs a file path" in error(handler, "").message


# --- CSAF: schema and profile ----------------------------------------------------------------


def test_csaf_schema_violations_name_json_pointers() -> None:
    err = error(CSAF_VEX, VEX / "csaf-vex-invalid.json")
    assert err.message == (
        "csaf-vex-invalid.json is not a valid CSAF VEX document: "
        "/document/tracking/status: 'published' is not one of ['draft', 'final', 'interim']; "
        # inside the cvss_v3 oneOf (v3.0 | v3.1), resolved from the vendored FIRST schema
        "/vulnerabilities/0/scores/0/cvss_v3/baseScore: 81 is greater than the maximum of 10; "
        "/vulnerabilities/1/product_status/under_investigation: [] should be non-empty"
    )
    assert "csaf_json_schema.json" in str(err.hint)


def test_csaf_formats_and_error_count(tmp_path: Path) -> None:
    doc = load(VEX_DOC)
    doc["document"]["tracking"]["current_release_date"] = "2024-02-30T10:00:00Z"
    doc["document"]["publisher"]["namespace"] = "psirt at acme"
    del doc["document"]["title"]
    doc["vulnerabilities"][0]["cve"] = "CVE-24-1"
    message = error(CSAF_VEX, write(tmp_path, "f.json", doc)).message
    assert "/document: 'title' is a required property" in message
    assert "/document/publisher/namespace: 'psirt at acme' is not a 'uri'" in message
    assert (
        "/document/tracking/current_release_date: '2024-02-30T10:00:00Z' is not a 'date-time'"
        in message
    )
    assert message.endswith(" (and 1 more)")


def test_csaf_profile_tests_of_the_oasis_test_suite() -> None:
    craft(CSAF_VEX, VEX / "oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-11.json")  # valid
    impact = error(CSAF_VEX, VEX / "oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-01.json")
    assert impact.message == (
        "oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-01.json is not a valid CSAF VEX document: "
        "/vulnerabilities/0/product_status/known_not_affected/2: product 'CSAFPID-9080702' has "
        "no impact statement (a flag, or a threat of category 'impact') (§6.1.27.9)"
    )
    assert impact.hint == "CSAF 2.0 section 6.1.27 lists what each profile requires"
    action = error(CSAF_VEX, VEX / "oasis_csaf_tc-csaf_2_0-2021-6-1-27-10-01.json").message
    assert (
        "/vulnerabilities/0/product_status/known_affected/2: product 'CSAFPID-9080702' has no "
        "action statement in /vulnerabilities/0/remediations (§6.1.27.10)"
    ) in action
    info = error(INFORMATIONAL, VEX / "oasis_csaf_tc-csaf_2_0-2021-6-1-27-03-01.json").message
    assert "/vulnerabilities: must not exist in an informational advisory (§6.1.27.3)" in info


def test_csaf_vex_profile_requirements(tmp_path: Path) -> None:
    doc = load(VEX_DOC)
    first = doc["vulnerabilities"][0]
    del first["cve"], first["notes"]
    first["product_status"] = {"recommended": ["acme-appliance-5.2.1:openssh-9.8p1"]}
    del doc["product_tree"]
    message = error(CSAF_VEX, write(tmp_path, "p.json", doc)).message
    assert message == (
        "p.json is not a valid CSAF VEX document: /product_tree: is missing (§6.1.27.4); "
        "/vulnerabilities/0: has no notes (§6.1.27.5); /vulnerabilities/0/product_status: needs "
        "fixed, known_affected, known_not_affected or under_investigation (§6.1.27.7) "
        "(and 1 more)"
    )
    del doc["vulnerabilities"]
    assert (
        "/vulnerabilities: is missing (§6.1.27.11)"
        in error(CSAF_VEX, write(tmp_path, "q.json", doc)).message
    )


def test_csaf_impact_statement_through_product_group(tmp_path: Path) -> None:
    doc = load(VEX_DOC)
    doc["product_tree"]["product_groups"] = [
        {
            "group_id": "old-appliances",
            "product_ids": ["acme-appliance-4.9.3", "acme-appliance-4.9.3:openssh-8.4p1"],
        }
    ]
    second = doc["vulnerabilities"][1]
    second["threats"][0] = {**second["threats"][0], "group_ids": ["old-appliances"]}
    del second["threats"][0]["product_ids"]
    craft(CSAF_VEX, write(tmp_path, "g.json", doc))
    second["threats"][0]["category"] = "exploit_status"
    message = error(CSAF_VEX, write(tmp_path, "h.json", doc)).message
    assert "/vulnerabilities/1/product_status/known_not_affected/0: product" in message


def test_csaf_advisory_and_notice_profiles(tmp_path: Path) -> None:
    advisory = load(ADVISORY_DOC)
    del advisory["vulnerabilities"][0]["product_status"]
    assert (
        "/vulnerabilities/0: has no product_status (§6.1.27.6)"
        in error(ADVISORY, write(tmp_path, "a.json", advisory)).message
    )
    incident = load(INCIDENT_DOC)
    incident["document"]["notes"] = [n for n in incident["document"]["notes"][2:]]
    incident["document"]["references"] = [incident["document"]["references"][1]]
    assert error(INCIDENT, write(tmp_path, "i.json", incident)).message == (
        "i.json is not a valid CSAF security incident response document: /document/notes: needs "
        "a note of category description, details, general or summary (§6.1.27.1); "
        "/document/references: needs an 'external' reference (§6.1.27.2)"
    )
    # a reference without a category is external (the schema's default)
    del incident["document"]["references"][0]["category"]
    incident["document"]["notes"].append({"category": "general", "text": "Details follow."})
    craft(INCIDENT, write(tmp_path, "j.json", incident))


# --- OpenVEX ---------------------------------------------------------------------------------


def test_openvex_summary() -> None:
    material = craft(OPENVEX, OPENVEX_DOC)
    assert material.summary == {
        "spec_version": "v0.2.0",
        "id": "https://openvex.dev/docs/public/vex-4d8f1e0c7b2a9a6f33c1d2b7e5a0c9f8e1d2c3b4a5968"
        "778695a4b3c2d1e0f9a",
        "author": "ACME Product Security <psirt@acme.example>",
        "role": "Document Creator",
        "version": 2,
        "timestamp": "2024-07-10T09:12:44.318214-05:00",
        "statements": 5,
        "statements_by_status": {
            "not_affected": 2,
            "affected": 1,
            "fixed": 1,
            "under_investigation": 1,
        },
        "vulnerabilities": 4,
        "tool": {"name": "vexctl", "version": "v0.3.0"},
    }
    assert material.annotations == {"chainproof.material.tools": '["vexctl@v0.3.0"]'}


def test_openvex_spec_example() -> None:
    material = craft(OPENVEX, SPEC_EXAMPLE)
    assert material.summary["author"] == "Wolfi J Inkinson"
    assert material.summary["statements_by_status"] == {
        "not_affected": 0,
        "affected": 0,
        "fixed": 1,
        "under_investigation": 0,
    }
    assert (material.summary["vulnerabilities"], material.summary["tool"]) == (1, None)
    assert material.annotations == {}


@pytest.mark.parametrize(
    ("tooling", "tool"),
    [
        ("vexctl/0.2.6", {"name": "vexctl", "version": "0.2.6"}),
        ("oxAudit 1.4.0", {"name": "oxAudit", "version": "1.4.0"}),
        ("trivy@v0.50.1", {"name": "trivy", "version": "v0.50.1"}),
        ("  In-house triage board ", {"name": "In-house triage board", "version": None}),
        ("", None),
    ],
)
def test_openvex_tooling(tmp_path: Path, tooling: str, tool: dict[str, str] | None) -> None:
    doc = {**load(SPEC_EXAMPLE), "tooling": tooling}
    assert craft(OPENVEX, write(tmp_path, "t.json", doc)).summary["tool"] == tool


def test_openvex_schema_violations_name_json_pointers() -> None:
    err = error(OPENVEX, VEX / "openvex-invalid.json")
    assert err.message == (
        "openvex-invalid.json is not a valid OpenVEX document: "
        "/timestamp: '2024-07-10 09:12' is not a 'date-time'; "
        "/statements/1/status: 'unaffected' is not one of "
        "['not_affected', 'affected', 'fixed', 'under_investigation']; "
        "/statements/3: 'action_statement' is a required property"
    )
    assert "OpenVEX v0.2.0 schema" in str(err.hint)


def test_openvex_not_affected_needs_one_reason(tmp_path: Path) -> None:
    doc = load(OPENVEX_DOC)
    del doc["statements"][1]["justification"]
    message = error(OPENVEX, write(tmp_path, "r.json", doc)).message
    assert message.startswith("r.json is not a valid OpenVEX document: /statements/1: ")
    doc["version"] = 0
    doc["extra"] = True
    message = error(OPENVEX, write(tmp_path, "s.json", doc)).message
    assert "/version: 0 is less than the minimum of 1" in message
    assert "(root): Additional properties are not allowed ('extra' was unexpected)" in message


def test_openvex_context(tmp_path: Path) -> None:
    doc = load(SPEC_EXAMPLE)
    doc["@context"] = "https://www.w3.org/ns/credentials/v2"
    err = error(OPENVEX, write(tmp_path, "c.json", doc))
    assert err.message == (
        "c.json is not a valid OpenVEX document: /@context: 'https://openvex.dev/ns/...' "
        "expected, found 'https://www.w3.org/ns/credentials/v2'"
    )
    doc["@context"] = ["https://openvex.dev/ns/v0.2.0"]
    assert "found an array" in error(OPENVEX, write(tmp_path, "d.json", doc)).message
    del doc["@context"]
    assert "it has no @context" in error(OPENVEX, write(tmp_path, "e.json", doc)).message


def test_openvex_wrong_formats_and_inputs(tmp_path: Path) -> None:
    csaf = error(OPENVEX, VEX_DOC)
    assert (
        csaf.message == "csaf-vex-acme-2024-0042.json is a CSAF document, not an OpenVEX document"
    )
    assert csaf.hint == "add it with --kind CSAF_VEX"
    spdx = error(OPENVEX, ASSETS / "spdx-2.3.json")
    assert spdx.hint == "add it with --kind SBOM_SPDX_JSON"
    assert error(OPENVEX, write(tmp_path, "x.json", '"text"')).message == (
        "x.json is not an OpenVEX document: the top level is a string, not an object"
    )
    truncated = write(tmp_path, "t.json", OPENVEX_DOC.read_text()[:500])
    assert "is not a valid OpenVEX document: not JSON at line" in error(OPENVEX, truncated).message
    assert error(OPENVEX, ASSETS / "empty.json").message.endswith("empty.json is empty")
    assert "is a directory, not a file" in error(OPENVEX, VEX).message


# --- helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024-07-09T14:30:00+00:00", True),
        ("2021-07-21T10:00:00.000Z", True),
        ("2023-01-08T18:02:03.647787998-06:00", True),
        ("2016-12-31t23:59:60z", True),  # leap second, lower-case T and Z
        ("2024-07-09T14:30:00", False),  # no offset
        ("2024-07-09 14:30:00Z", False),
        ("2024-02-30T10:00:00Z", False),
        ("2024-07-09T24:00:00Z", False),
        ("2024-07-09T14:30:00+24:00", False),
        ("2024-07-09", False),
    ],
)
def test_rfc3339_date_time(value: str, valid: bool) -> None:
    assert is_rfc3339_date_time(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("https://psirt.acme.example/csaf?id=1#x", True),
        ("pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64", True),
        ("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", True),
        ("https://example.com/a%20b", True),
        ("no-scheme/path", False),
        ("https://example.com/a b", False),
        ("https://example.com/%zz", False),
        ("https://exämple.com/", False),
    ],
)
def test_uri_format(value: str, valid: bool) -> None:
    assert is_uri(value) is valid


def test_json_pointer_escapes() -> None:
    assert json_pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"
    assert json_pointer([]) == ""
