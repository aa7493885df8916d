"""Crafting rules: slot choice, automatic names, kind checks, automatic evidence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chainproof.core.contract import Contract, MaterialSpec
from chainproof.core.crafting import CraftingState
from chainproof.core.crafting_rules import (
    PR_INFO_MATERIAL,
    automatic_documents,
    automatic_name,
    document_names,
    material_kind,
)
from chainproof.core.digest import Digest
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.runners.base import RunnerContext
from chainproof.errors import InvalidInput

CONTRACT = Contract(
    name="release",
    materials=(
        MaterialSpec("sbom", "SBOM_CYCLONEDX_JSON"),
        MaterialSpec("sast-a", "SARIF"),
        MaterialSpec("sast-b", "SARIF"),
        MaterialSpec("report", "ARTIFACT"),
    ),
)


def _state(contract: Contract = CONTRACT) -> CraftingState:
    return CraftingState(
        server_url="http://127.0.0.1:8000",
        org="acme",
        run_id="run-1",
        workflow={"name": "build", "project": "shop"},
        contract_name="release",
        contract_revision=1,
        contract=contract,
        runner=RunnerContext(type="GENERIC"),
        started_on=datetime(2026, 12, 1, tzinfo=UTC),
    )


def _add(state: CraftingState, name: str, kind: str) -> None:
    state.materials[name] = CraftedMaterial(
        name=name, kind=kind, digest=Digest.of_bytes(name.encode()), size=1
    )


def test_automatic_name_fills_the_first_empty_slot_of_the_kind() -> None:
    state = _state()
    assert automatic_name(state, "SARIF", "out/scan.sarif") == "sast-a"
    _add(state, "sast-a", "SARIF")
    assert automatic_name(state, "SARIF", "out/scan.sarif") == "sast-b"


def test_automatic_name_without_a_free_slot_comes_from_the_file() -> None:
    state = _state()
    _add(state, "sast-a", "SARIF")
    _add(state, "sast-b", "SARIF")
    assert automatic_name(state, "SARIF", "out/Semgrep Scan.v2.sarif") == "semgrep-scan"
    assert automatic_name(state, "JUNIT_XML", "x" * 80 + ".xml") == "x" * 50


def test_automatic_name_avoids_taken_names() -> None:
    state = _state()
    _add(state, "report", "ARTIFACT")
    # "report" is both a filled slot and a contract name: the next free suffix is used.
    assert automatic_name(state, "EVIDENCE", "report.json") == "report-2"
    _add(state, "report-2", "EVIDENCE")
    assert automatic_name(state, "EVIDENCE", "report.json") == "report-3"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("STRING", "v1.2.3", "string"),
        ("CONTAINER_IMAGE", "ghcr.io/acme/api:1.0", "container-image"),
        ("ARTIFACT", "...", "artifact"),  # nothing usable in the file name
    ],
)
def test_automatic_name_falls_back_to_the_kind(kind: str, value: str, expected: str) -> None:
    contract = Contract(name="empty", materials=())
    assert automatic_name(_state(contract), kind, value) == expected


def test_material_kind_is_the_given_kind_else_the_slots() -> None:
    state = _state()
    assert material_kind(state, "sbom", None) == "SBOM_CYCLONEDX_JSON"
    assert material_kind(state, "sbom", "SBOM_CYCLONEDX_JSON") == "SBOM_CYCLONEDX_JSON"
    assert material_kind(state, "notes", "EVIDENCE") == "EVIDENCE"


def test_material_kind_refuses_an_unknown_name_without_kind() -> None:
    with pytest.raises(InvalidInput, match=r"no material named 'sbon' \(it has: sbom, ") as info:
        material_kind(_state(), "sbon", None)
    assert "--kind" in (info.value.hint or "")


def test_material_kind_refuses_a_kind_the_slot_contradicts() -> None:
    with pytest.raises(InvalidInput, match=r"sbom is a SBOM_CYCLONEDX_JSON .*not SARIF"):
        material_kind(_state(), "sbom", "SARIF")


def test_document_names_number_the_documents_after_the_first() -> None:
    assert document_names("sbom", 1) == ["sbom"]
    assert document_names("sbom", 3) == ["sbom", "sbom-1", "sbom-2"]


def test_automatic_documents() -> None:
    pr = {"type": "pull_request"}
    context = {"schema_version": "1"}
    plain = Contract(name="plain", materials=())
    assert automatic_documents(plain, None, context) == []
    assert automatic_documents(plain, pr, context) == [(PR_INFO_MATERIAL, "PR_INFO", pr)]
    slotted = Contract(
        name="slotted",
        materials=(
            MaterialSpec("pr", "PR_INFO"),
            MaterialSpec("ctx-a", "RUNNER_CONTEXT"),
            MaterialSpec("ctx-b", "RUNNER_CONTEXT"),
        ),
    )
    assert automatic_documents(slotted, pr, context) == [
        ("pr", "PR_INFO", pr),
        ("ctx-a", "RUNNER_CONTEXT", context),
        ("ctx-b", "RUNNER_CONTEXT", context),
    ]
    assert automatic_documents(slotted, None, context)[0] == ("ctx-a", "RUNNER_CONTEXT", context)
