"""Evidence kinds against real sample files in tests/assets/materials."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from chainproof.core import materials
from chainproof.core.digest import Digest
from chainproof.core.kinds import MaterialKind
from chainproof.errors import MaterialError

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
CDX16 = ASSETS / "cyclonedx-1.6.json"
CDX15 = ASSETS / "cyclonedx-1.5.json"
SPDX23 = ASSETS / "spdx-2.3.json"
IMAGE_DIGEST = "sha256:" + "4f5b6c7d8e9fa0b1" * 4


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def craft_error(value: str | Path, kind: str | None) -> str:
    with pytest.raises(MaterialError) as info:
        materials.craft("m", str(value), kind)
    return info.value.message


# --- registry --------------------------------------------------------------------------------


def test_supported_kinds_and_handlers() -> None:
    supported = materials.supported_kinds()
    assert supported[:4] == ["STRING", "ARTIFACT", "EVIDENCE", "CONTAINER_IMAGE"]
    assert sorted(supported) == sorted(MaterialKind)  # every kind a contract may name
    for kind in supported:
        assert materials.handler_for(kind).kind == kind
    assert materials.handler_for("sbom_spdx_json").kind == "SBOM_SPDX_JSON"


def test_every_detectable_kind_is_supported_once() -> None:
    order = materials.DETECTION_ORDER
    assert len(order) == len(set(order))
    assert set(order) <= set(materials.supported_kinds())
    assert order[-5:] == ("ATTESTATION", "CONTAINER_IMAGE", "EVIDENCE", "ARTIFACT", "STRING")
    assert "CHECKMARX_JSON" not in order  # too permissive to detect, as in Chainloop


def test_two_strict_kinds_accepting_a_value_is_ambiguous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Greedy:
        kind = "GREEDY"

        def accepts(self, value: str) -> bool:
            return True

    tiers = (("SBOM_CYCLONEDX_JSON", "GREEDY"), ("STRING",))
    monkeypatch.setattr(materials, "DETECTION_TIERS", tiers)
    monkeypatch.setitem(materials._instances, "GREEDY", Greedy())
    with pytest.raises(MaterialError) as info:
        materials.detect_kind(str(CDX16))
    assert info.value.message.endswith("could be any of SBOM_CYCLONEDX_JSON, GREEDY")
    assert info.value.details["candidates"] == ["SBOM_CYCLONEDX_JSON", "GREEDY"]
    assert info.value.hint and "--kind" in info.value.hint
    assert materials.detect_kind("1.2.3") == "GREEDY"  # one acceptor in a tier: not ambiguous


def test_unknown_kind_lists_supported() -> None:
    with pytest.raises(MaterialError, match=r"unknown evidence kind 'SBOM'.*SBOM_SPDX_JSON"):
        materials.craft("m", str(CDX16), "SBOM")


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (CDX16, "SBOM_CYCLONEDX_JSON"),
        (CDX15, "SBOM_CYCLONEDX_JSON"),
        (ASSETS / "cyclonedx-1.6-invalid.json", "SBOM_CYCLONEDX_JSON"),
        (ASSETS / "cyclonedx-bad-syntax.json", "SBOM_CYCLONEDX_JSON"),
        (SPDX23, "SBOM_SPDX_JSON"),
        (ASSETS / "evidence.json", "EVIDENCE"),
        (ASSETS / "artifact.sh", "ARTIFACT"),
        (ASSETS / "not-json.csv", "ARTIFACT"),
        (ASSETS / "empty.json", "ARTIFACT"),
        (ASSETS, "ARTIFACT"),
        (f"registry.example.com/acme/build@{IMAGE_DIGEST}", "CONTAINER_IMAGE"),
        (f"ghcr.io/acme/api:1.4.2@{IMAGE_DIGEST}", "CONTAINER_IMAGE"),
        ("registry.example.com/acme/build:1.0", "STRING"),  # not pinned: not an image
        ("1.2.3", "STRING"),
        ("tests/assets/materials/no-such-file.json", "STRING"),
    ],
)
def test_detect_kind(value: str | Path, kind: str) -> None:
    assert materials.detect_kind(str(value)) == kind


def test_detection_order_is_strict_formats_first() -> None:
    assert materials.DETECTION_TIERS[0] == materials.STRICT_FORMATS
    assert materials.DETECTION_TIERS[1:] == (
        ("ATTESTATION", "CONTAINER_IMAGE"),
        ("EVIDENCE",),
        ("ARTIFACT",),
        ("STRING",),
    )


def test_detect_large_cyclonedx_by_its_head(tmp_path: Path) -> None:
    doc = json.loads(CDX16.read_text())
    doc["components"] = doc["components"] * 400  # > 64 KiB: sniffed, not parsed
    big = tmp_path / "big.json"
    big.write_text(json.dumps(doc, indent=2))
    assert big.stat().st_size > 64 * 1024
    assert materials.detect_kind(str(big)) == "SBOM_CYCLONEDX_JSON"


def test_an_image_named_like_an_existing_file_is_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = f"img@{IMAGE_DIGEST}"
    (tmp_path / name).write_text("bytes")
    assert materials.detect_kind(name) == "ARTIFACT"


def test_detect_empty_value() -> None:
    with pytest.raises(MaterialError, match="empty"):
        materials.detect_kind("")


def test_craft_detects_when_kind_is_none() -> None:
    crafted = materials.craft("sbom", str(SPDX23))
    assert crafted.kind == "SBOM_SPDX_JSON"


# --- STRING ----------------------------------------------------------------------------------


def test_string() -> None:
    crafted = materials.craft("version", "1.2.3", "STRING")
    assert crafted.kind == "STRING"
    assert crafted.value == "1.2.3"
    assert str(crafted.digest) == "sha256:" + hashlib.sha256(b"1.2.3").hexdigest()
    assert crafted.size == 5
    assert crafted.upload_path is None
    assert crafted.output is False
    unicode = materials.craft("v", "é", "STRING")
    assert unicode.size == 2


def test_string_invalid() -> None:
    assert "needs a non-empty value" in craft_error("", "STRING")
    assert "the limit is 65536" in craft_error("x" * 70_000, "STRING")


# --- ARTIFACT --------------------------------------------------------------------------------


def test_artifact() -> None:
    path = ASSETS / "artifact.sh"
    crafted = materials.craft("bin", str(path), "ARTIFACT")
    assert crafted.filename == "artifact.sh"
    assert crafted.upload_path == path.absolute()
    assert str(crafted.digest) == sha256(path)
    assert crafted.size == path.stat().st_size
    assert crafted.value is None


@pytest.mark.parametrize("kind", ["ARTIFACT", "EVIDENCE", "SBOM_CYCLONEDX_JSON", "SBOM_SPDX_JSON"])
def test_file_kinds_reject_missing_directory_and_empty(kind: str) -> None:
    assert craft_error(ASSETS / "missing.json", kind) == (
        f"{kind}: file {ASSETS / 'missing.json'} does not exist"
    )
    assert "is a directory, not a file" in craft_error(ASSETS, kind)
    assert craft_error(ASSETS / "empty.json", kind) == f"{kind}: {ASSETS / 'empty.json'} is empty"


def test_empty_file_detected_then_refused() -> None:
    assert "is empty" in craft_error(ASSETS / "empty.json", None)


# --- EVIDENCE --------------------------------------------------------------------------------


def test_evidence_envelope() -> None:
    path = ASSETS / "evidence.json"
    crafted = materials.craft("pentest", str(path), "EVIDENCE")
    assert crafted.annotations == {
        "chainproof.material.evidence.id": "acme.dev/evidence/pentest-report",
        "chainproof.material.evidence.schema": "https://schemas.acme.dev/pentest-report/v1.json",
    }
    assert crafted.summary["id"] == "acme.dev/evidence/pentest-report"
    assert crafted.upload_path == path.absolute()
    assert str(crafted.digest) == sha256(path)


def test_evidence_any_file_without_envelope() -> None:
    crafted = materials.craft("report", str(ASSETS / "not-json.csv"), "EVIDENCE")
    assert crafted.annotations == {}
    assert crafted.summary == {"envelope": False}
    sbom_as_evidence = materials.craft("report", str(CDX16), "EVIDENCE")
    assert sbom_as_evidence.annotations == {}


def test_evidence_envelope_without_schema(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('{"id": "acme/x", "data": [1, 2]}')
    crafted = materials.craft("e", str(path), "EVIDENCE")
    assert crafted.annotations == {"chainproof.material.evidence.id": "acme/x"}


# --- CONTAINER_IMAGE -------------------------------------------------------------------------


def test_container_image_with_tag() -> None:
    crafted = materials.craft("image", f"ghcr.io/acme/api:1.4.2@{IMAGE_DIGEST}", "CONTAINER_IMAGE")
    assert crafted.digest == Digest.parse(IMAGE_DIGEST)
    assert crafted.filename == "ghcr.io/acme/api"
    assert crafted.annotations == {"chainproof.material.image.tag": "1.4.2"}
    assert crafted.upload_path is None
    assert crafted.summary == {
        "repository": "ghcr.io/acme/api",
        "tag": "1.4.2",
        "digest": IMAGE_DIGEST,
    }


@pytest.mark.parametrize(
    ("ref", "repository"),
    [
        (f"registry.example.com/acme/build@{IMAGE_DIGEST}", "registry.example.com/acme/build"),
        (f"localhost:5000/team/app_x.y@{IMAGE_DIGEST}", "localhost:5000/team/app_x.y"),
        (f"nginx@{IMAGE_DIGEST}", "nginx"),
        (f"[::1]:5000/a/b--c@{IMAGE_DIGEST}", "[::1]:5000/a/b--c"),
    ],
)
def test_container_image_pinned(ref: str, repository: str) -> None:
    crafted = materials.craft("image", ref, "CONTAINER_IMAGE")
    assert crafted.filename == repository
    assert crafted.annotations == {}
    assert str(crafted.digest) == IMAGE_DIGEST


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        (f"ghcr.io/Acme/api@{IMAGE_DIGEST}", "repository names must be lowercase"),
        ("ghcr.io/acme/api@sha256:1234", "the part after '@' is not a digest"),
        (f"https://ghcr.io/acme/api@{IMAGE_DIGEST}", "looks like a URL"),
        (f"ghcr.io/acme/api:-bad@{IMAGE_DIGEST}", "OCI distribution reference grammar"),
        (f"ghcr.io/acme//api@{IMAGE_DIGEST}", "OCI distribution reference grammar"),
        ("", "it is empty"),
        ("ghcr.io/acme/api@md5:" + "0" * 32, "unsupported digest"),
    ],
)
def test_container_image_invalid(ref: str, why: str) -> None:
    msg = craft_error(ref, "CONTAINER_IMAGE")
    assert msg.startswith("CONTAINER_IMAGE:")
    assert why in msg


# --- SBOM_CYCLONEDX_JSON ---------------------------------------------------------------------


def test_cyclonedx_16() -> None:
    crafted = materials.craft("sbom", str(CDX16), "SBOM_CYCLONEDX_JSON")
    assert crafted.filename == "cyclonedx-1.6.json"
    assert str(crafted.digest) == sha256(CDX16)
    assert crafted.upload_path == CDX16.absolute()
    assert crafted.summary == {
        "spec_version": "1.6",
        "component_count": 5,  # 4 top-level + starlette nested under fastapi
        "tools": [
            {"name": "cdxgen", "version": "10.10.7"},
            {"name": "cyclonedx-py", "version": "4.6.1"},
            {"name": "sbom-enricher", "version": "2.0.0"},
        ],
        "main_component": {"name": "payments-api", "type": "application", "version": "2.4.1"},
        "has_vulnerabilities": True,
    }
    assert crafted.annotations == {
        "chainproof.material.sbom.main_component.name": "payments-api",
        "chainproof.material.sbom.main_component.version": "2.4.1",
        "chainproof.material.sbom.main_component.type": "application",
        "chainproof.material.tools": (
            '["cdxgen@10.10.7", "cyclonedx-py@4.6.1", "sbom-enricher@2.0.0"]'
        ),
        "chainproof.material.sbom.vulnerabilities_report": "true",
    }


def test_cyclonedx_15_legacy_tools_array() -> None:
    crafted = materials.craft("sbom", str(CDX15), "SBOM_CYCLONEDX_JSON")
    assert crafted.summary["spec_version"] == "1.5"
    assert crafted.summary["component_count"] == 3
    assert crafted.summary["tools"] == [{"name": "trivy", "version": "0.52.2"}]
    assert crafted.summary["main_component"]["type"] == "container"
    assert crafted.summary["has_vulnerabilities"] is False
    assert crafted.annotations["chainproof.material.tools"] == '["trivy@0.52.2"]'
    assert "chainproof.material.sbom.vulnerabilities_report" not in crafted.annotations


def test_cyclonedx_schema_violations_with_paths() -> None:
    msg = craft_error(ASSETS / "cyclonedx-1.6-invalid.json", "SBOM_CYCLONEDX_JSON")
    assert msg.startswith("cyclonedx-1.6-invalid.json is not a valid CycloneDX 1.6 document: ")
    assert 'components[2].components[0].type: "lib" is not one of "application",' in msg
    assert 'components[3]: "name" is a required property' in msg
    assert (
        'components[3].licenses[0].license.url: "not a uri at all" is not a "iri-reference"' in msg
    )


def test_cyclonedx_schema_violation_in_e2e_sample() -> None:
    msg = craft_error(ASSETS.parent / "e2e" / "not-an-sbom.json", "SBOM_CYCLONEDX_JSON")
    assert msg == (
        "not-an-sbom.json is not a valid CycloneDX 1.6 document: "
        'components[0]: "type" is a required property'
    )


def test_cyclonedx_validates_the_declared_version(tmp_path: Path) -> None:
    # "manufacturer" in metadata exists from 1.6 on; declared 1.5 it is an unknown property.
    doc = json.loads(CDX15.read_text())
    doc["metadata"]["manufacturer"] = {"name": "Acme"}
    path = tmp_path / "sbom.json"
    path.write_text(json.dumps(doc))
    msg = craft_error(path, "SBOM_CYCLONEDX_JSON")
    assert "not a valid CycloneDX 1.5 document" in msg and "manufacturer" in msg
    doc["specVersion"] = "1.6"
    path.write_text(json.dumps(doc))
    assert materials.craft("s", str(path), "SBOM_CYCLONEDX_JSON").summary["spec_version"] == "1.6"


def test_cyclonedx_truncated_and_not_json() -> None:
    msg = craft_error(ASSETS / "cyclonedx-truncated.json", "SBOM_CYCLONEDX_JSON")
    assert msg.startswith(
        "cyclonedx-truncated.json is not a valid CycloneDX document: "
        "not JSON at line 26 column 15: "
    )
    msg = craft_error(ASSETS / "cyclonedx-bad-syntax.json", "SBOM_CYCLONEDX_JSON")
    assert "not JSON at line 4 column 3: Expecting ',' delimiter" in msg
    msg = craft_error(ASSETS / "not-json.csv", "SBOM_CYCLONEDX_JSON")
    assert "not JSON at line 1 column 1" in msg


def test_spdx_given_as_cyclonedx() -> None:
    msg = craft_error(SPDX23, "SBOM_CYCLONEDX_JSON")
    assert msg == "spdx-2.3.json is an SPDX document, not CycloneDX"


def test_cyclonedx_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"bomFormat": "SWID", "specVersion": "1.6"}')
    assert "bomFormat is 'SWID', expected 'CycloneDX'" in craft_error(path, "SBOM_CYCLONEDX_JSON")
    path.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.1"}')
    assert "specVersion is '1.1'; supported versions are 1.2" in craft_error(
        path, "SBOM_CYCLONEDX_JSON"
    )
    path.write_text("[1, 2]")
    assert "the top level is a JSON list" in craft_error(path, "SBOM_CYCLONEDX_JSON")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00binary")
    assert "not UTF-8" in craft_error(tmp_path / "bin", "SBOM_CYCLONEDX_JSON")


# --- SBOM_SPDX_JSON --------------------------------------------------------------------------


def test_spdx_23() -> None:
    crafted = materials.craft("sbom", str(SPDX23), "SBOM_SPDX_JSON")
    assert crafted.filename == "spdx-2.3.json"
    assert str(crafted.digest) == sha256(SPDX23)
    assert crafted.summary == {
        "spdx_version": "SPDX-2.3",
        "name": "payments-web-1.8.0",
        "package_count": 4,
        "tools": [
            {"name": "syft", "version": "1.14.0"},
            {"name": "sbom-tool", "version": "2.2.8"},
        ],
        "main_package": {
            "name": "payments-web",
            "version": "1.8.0",
            "type": "application",
            "spdx_id": "SPDXRef-Package-payments-web",
        },
    }
    assert crafted.annotations == {
        "chainproof.material.sbom.main_component.name": "payments-web",
        "chainproof.material.sbom.main_component.version": "1.8.0",
        "chainproof.material.sbom.main_component.type": "application",
        "chainproof.material.tools": '["syft@1.14.0", "sbom-tool@2.2.8"]',
    }


def test_spdx_main_package_from_document_describes(tmp_path: Path) -> None:
    doc = json.loads(SPDX23.read_text())
    doc["relationships"] = doc["relationships"][1:]
    doc["documentDescribes"] = ["SPDXRef-Package-npm-lodash-4.17.21"]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    crafted = materials.craft("s", str(path), "SBOM_SPDX_JSON")
    assert crafted.summary["main_package"]["name"] == "lodash"


def test_spdx_invalid() -> None:
    msg = craft_error(ASSETS / "spdx-2.3-invalid.json", "SBOM_SPDX_JSON")
    assert msg.startswith("spdx-2.3-invalid.json is not a valid SPDX 2.3 document: ")
    assert 'must begin with "SPDXRef-", but is: express package' in msg
    assert 'did not find the referenced spdx_id "SPDXRef-Package-missing"' in msg
    assert msg.endswith("(and 1 more)")


def test_spdx_parse_error(tmp_path: Path) -> None:
    doc = json.loads(SPDX23.read_text())
    del doc["creationInfo"]["created"]
    doc["packages"][0]["downloadLocation"] = 42
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    msg = craft_error(path, "SBOM_SPDX_JSON")
    assert msg.startswith("s.json is not a valid SPDX 2.3 document: ")
    assert "created" in msg


def test_cyclonedx_given_as_spdx_and_other_json() -> None:
    assert (
        craft_error(CDX16, "SBOM_SPDX_JSON")
        == "cyclonedx-1.6.json is a CycloneDX document, not SPDX"
    )
    assert craft_error(ASSETS / "evidence.json", "SBOM_SPDX_JSON") == (
        "evidence.json is not an SPDX document: spdxVersion is missing"
    )
    assert "not JSON at line 26" in craft_error(
        ASSETS / "cyclonedx-truncated.json", "SBOM_SPDX_JSON"
    )


def test_spdx_unsupported_version(tmp_path: Path) -> None:
    doc = json.loads(SPDX23.read_text())
    doc["spdxVersion"] = "SPDX-2.1"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    assert "spdxVersion 'SPDX-2.1' is not supported" in craft_error(path, "SBOM_SPDX_JSON")


def test_crafted_round_trips_through_dict(tmp_path: Path) -> None:
    copy = tmp_path / "sbom.json"
    shutil.copy(CDX16, copy)
    crafted = materials.craft("sbom", str(copy))
    assert materials.CraftedMaterial.from_dict(json.loads(json.dumps(crafted.to_dict()))) == crafted
