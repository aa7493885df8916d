"""Evaluable content: what a policy sees as ``input`` for each evidence kind."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from chainproof.core.materials import craft
from chainproof.errors import PolicyEvaluationError
from chainproof.policy.content import evaluable_content, material_descriptor, material_input

MATERIALS = Path(__file__).resolve().parents[2] / "assets" / "materials"
DESCRIPTOR = {"name": "m", "digest": {"sha256": "00"}, "annotations": {}}


def content(kind: str, file: str) -> dict[str, object]:
    return evaluable_content(kind, (MATERIALS / file).read_bytes(), descriptor=DESCRIPTOR)


def test_json_documents_pass_through_with_the_descriptor() -> None:
    got = content("SBOM_CYCLONEDX_JSON", "cyclonedx-1.6.json")
    assert got["bomFormat"] == "CycloneDX"
    assert got["chainloop_metadata"] == DESCRIPTOR


def test_arrays_are_wrapped_in_elements() -> None:
    got = content("GHAS_CODE_SCAN", "ghas/ghas-code-scanning.json")
    assert isinstance(got["elements"], list) and got["elements"][0]["number"] == 42


def test_junit_is_projected_like_go_junit() -> None:
    suites = content("JUNIT_XML", "reports/junit-pytest.xml")["elements"]
    assert isinstance(suites, list)
    totals = {k: sum(s["totals"][k] for s in suites) for k in ("tests", "failed", "error")}
    assert totals == {"tests": 6, "failed": 1, "error": 1}
    tests = [t for s in suites for t in s.get("tests", [])]
    failed = next(t for t in tests if t["status"] == "failed")
    assert failed["error"]["message"] and isinstance(failed["duration"], int)
    assert {t["status"] for t in tests} <= {"passed", "failed", "error", "skipped"}


def test_jacoco_and_cobertura() -> None:
    jacoco = content("JACOCO_XML", "reports/jacoco.xml")
    assert {c["type"] for c in jacoco["counters"]} >= {"INSTRUCTION", "LINE"}
    cobertura = content("COBERTURA_XML", "reports/cobertura-coveragepy.xml")
    assert isinstance(cobertura["line-rate"], float) and cobertura["packages"]
    assert "lines" in cobertura["packages"][0]["classes"][0]


def test_cobertura_nan_rates_are_null() -> None:
    xml = b'<coverage line-rate="NaN" branch-rate="0" lines-valid="0"><packages/></coverage>'
    got = evaluable_content("COBERTURA_XML", xml, descriptor=DESCRIPTOR)
    assert got["line-rate"] is None and got["packages"] == []


def test_trufflehog_lines_become_elements() -> None:
    got = content("TRUFFLEHOG_JSON", "secrets/trufflehog.jsonl")
    assert got["elements"] and all("DetectorName" in f for f in got["elements"])


def test_cyclonedx_xml_becomes_cyclonedx_json() -> None:
    got = content("SBOM_CYCLONEDX_XML", "sboms/cyclonedx-py-1.5.xml")
    assert got["bomFormat"] == "CycloneDX" and got["specVersion"] == "1.5"
    assert {"name", "version", "purl"} <= set(got["components"][0])


def test_attestation_is_the_statement(tmp_path: Path) -> None:
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "x"}
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    envelope = {"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": []}
    got = evaluable_content("ATTESTATION", json.dumps(envelope).encode(), descriptor=DESCRIPTOR)
    assert got["predicateType"] == "x"
    with pytest.raises(PolicyEvaluationError, match="not a DSSE envelope"):
        evaluable_content("ATTESTATION", b'{"a": 1}', descriptor=DESCRIPTOR)


def test_yaml_specs_and_graphql() -> None:
    assert content("OPENAPI_SPEC", "specs/petstore-openapi-3.0.yaml")["openapi"].startswith("3.0")
    assert "type Query" in str(content("GRAPHQL_SPEC", "specs/bookstore.graphql")["raw"])


def test_content_that_is_not_json_cannot_be_evaluated() -> None:
    with pytest.raises(PolicyEvaluationError, match="material m cannot be evaluated") as err:
        evaluable_content("EVIDENCE", b"\x00\x01 binary", descriptor=DESCRIPTOR, name="m")
    assert err.value.details == {"reason": "input"}


def test_string_and_image_materials_are_read_from_the_descriptor() -> None:
    string = craft("version", "v1.2.3", "STRING")
    got = material_input(string)
    assert set(got) == {"chainloop_metadata"}
    assert base64.b64decode(got["chainloop_metadata"]["content"]) == b"v1.2.3"  # type: ignore[index]
    annotations = got["chainloop_metadata"]["annotations"]  # type: ignore[index]
    assert annotations["chainloop.material.type"] == "STRING"
    assert annotations["chainproof.material.name"] == "version"


def test_descriptor_adds_chainloop_names_of_chainproof_annotations() -> None:
    sbom = craft("sbom", str(MATERIALS / "cyclonedx-1.6.json"), "SBOM_CYCLONEDX_JSON")
    annotations = material_descriptor(sbom)["annotations"]
    for key, value in sbom.annotations.items():
        if key.startswith("chainproof.material."):
            assert (
                annotations["chainloop.material." + key.removeprefix("chainproof.material.")]
                == value
            )
    assert material_descriptor(sbom)["digest"] == {"sha256": sbom.digest.hex}


def test_a_yaml_alias_bomb_is_refused_not_expanded() -> None:
    with pytest.raises(PolicyEvaluationError, match="once its aliases are expanded"):
        content("OPENAPI_SPEC", "specs/openapi-alias-bomb.yaml")
