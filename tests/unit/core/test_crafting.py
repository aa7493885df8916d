"""The crafting state: contract rules for materials and annotations, completeness, files."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chainproof.core.contract import Annotation, Contract, MaterialSpec
from chainproof.core.crafting import CraftingState
from chainproof.core.digest import Digest
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.runners.base import RunnerContext
from chainproof.errors import ContractNotSatisfied, InvalidInput, MaterialError, NotFound

CONTRACT = Contract(
    name="release",
    materials=(
        MaterialSpec("image", "CONTAINER_IMAGE", output=True),
        MaterialSpec("sbom", "SBOM_CYCLONEDX_JSON", annotations=(Annotation("tool", "syft"),)),
        MaterialSpec("tests", "JUNIT_XML", optional=True, annotations=(Annotation("suite", ""),)),
        MaterialSpec("sast-a", "SARIF", group="sast"),
        MaterialSpec("sast-b", "SARIF", group="sast"),
        MaterialSpec("big-binary", "ARTIFACT", skip_upload=True),
    ),
    annotations=(Annotation("owner_team", "payments"), Annotation("ticket", "")),
)


def _state(contract: Contract = CONTRACT) -> CraftingState:
    return CraftingState(
        server_url="http://127.0.0.1:8000",
        org="acme",
        run_id="run-1",
        workflow={
            "id": "wf-1",
            "name": "build",
            "project": "shop",
            "project_version": "v1.2.3",
            "team": "payments",
        },
        contract_name="release",
        contract_revision=3,
        contract=contract,
        runner=RunnerContext(type="GENERIC", env={"RELEASE_CHANNEL": "stable"}),
        started_on=datetime(2026, 11, 25, 6, 0, tzinfo=UTC),
    )


def _material(name: str, kind: str, data: bytes = b"x", **kw: object) -> CraftedMaterial:
    return CraftedMaterial(
        name=name,
        kind=kind,
        digest=Digest.of_bytes(data),
        size=len(data),
        filename=f"{name}.bin",
        upload_path=Path(f"/tmp/{name}.bin"),
        **kw,  # type: ignore[arg-type]
    )


def _complete(state: CraftingState) -> None:
    state.add_material(_material("image", "CONTAINER_IMAGE"))
    state.add_material(_material("sbom", "SBOM_CYCLONEDX_JSON"))
    state.add_material(_material("sast-b", "SARIF"))
    state.add_material(_material("big-binary", "ARTIFACT"))


def test_version_defaults_to_1() -> None:
    assert _state().version == 1


def test_spec_for_names_the_slot() -> None:
    state = _state()
    spec = state.spec_for("sbom")
    assert spec is not None and spec.kind == "SBOM_CYCLONEDX_JSON"
    assert state.spec_for("nope") is None


def test_kind_must_match_the_slot() -> None:
    with pytest.raises(MaterialError, match=r"sbom must be a SBOM_CYCLONEDX_JSON.*not SARIF"):
        _state().add_material(_material("sbom", "SARIF"))


def test_output_comes_from_the_slot() -> None:
    state = _state()
    assert state.add_material(_material("image", "CONTAINER_IMAGE")).output is True
    assert state.add_material(_material("sbom", "SBOM_CYCLONEDX_JSON", output=True)).output is False
    assert state.materials["image"].output is True


def test_skip_upload_slot_drops_the_upload_path() -> None:
    state = _state()
    assert state.add_material(_material("big-binary", "ARTIFACT")).upload_path is None
    assert state.add_material(_material("sbom", "SBOM_CYCLONEDX_JSON")).upload_path == Path(
        "/tmp/sbom.bin"
    )


def test_contract_annotations_are_applied_and_runtime_ones_added() -> None:
    state = _state()
    got = state.add_material(
        _material("sbom", "SBOM_CYCLONEDX_JSON", annotations={"from_handler": "1"}),
        {"extra": "yes", "tool": "syft"},
    )
    assert got.annotations == {"from_handler": "1", "tool": "syft", "extra": "yes"}
    assert state.materials["sbom"].annotations == got.annotations


def test_fixed_contract_annotation_cannot_be_overridden() -> None:
    with pytest.raises(MaterialError, match=r"tool of material sbom is fixed.*'syft'.*'grype'"):
        _state().add_material(_material("sbom", "SBOM_CYCLONEDX_JSON"), {"tool": "grype"})


def test_handler_annotations_cannot_override_contract_values() -> None:
    got = _state().add_material(
        _material("sbom", "SBOM_CYCLONEDX_JSON", annotations={"tool": "other"})
    )
    assert got.annotations["tool"] == "syft"


def test_empty_contract_annotation_must_be_given_at_add() -> None:
    state = _state()
    with pytest.raises(MaterialError, match=r"tests needs a value for annotation.*suite") as err:
        state.add_material(_material("tests", "JUNIT_XML"))
    assert err.value.hint == "pass --annotation suite=VALUE"
    assert "tests" not in state.materials
    got = state.add_material(_material("tests", "JUNIT_XML"), {"suite": "unit"})
    assert got.annotations == {"suite": "unit"}


def test_extra_material_needs_an_explicit_kind() -> None:
    state = _state()
    with pytest.raises(MaterialError, match=r"no material named 'imgae'.*image, sbom"):
        state.add_material(_material("imgae", "ARTIFACT"), kind_explicit=False)
    got = state.add_material(_material("notes", "EVIDENCE", output=True), {"a": "b"})
    assert got.output is True and got.annotations == {"a": "b"}
    assert "notes" in state.materials


def test_adding_a_name_again_replaces_it() -> None:
    state = _state()
    state.add_material(_material("sbom", "SBOM_CYCLONEDX_JSON", b"one"))
    state.add_material(_material("sbom", "SBOM_CYCLONEDX_JSON", b"two"))
    assert list(state.materials) == ["sbom"]
    assert state.materials["sbom"].digest == Digest.of_bytes(b"two")


def test_missing_lists_every_gap() -> None:
    assert _state().missing() == [
        "material image (CONTAINER_IMAGE)",
        "material sbom (SBOM_CYCLONEDX_JSON)",
        "material big-binary (ARTIFACT)",
        "at least one material of group sast: sast-a (SARIF), sast-b (SARIF)",
        "annotation ticket",
    ]


def test_group_is_satisfied_by_any_member_and_optional_is_not_required() -> None:
    state = _state()
    _complete(state)
    assert state.missing() == ["annotation ticket"]
    assert state.missing({"ticket": "SEC-1"}) == []
    state.annotations["ticket"] = "SEC-2"  # recorded earlier counts too
    assert state.missing() == []


def test_push_annotation_cannot_change_a_fixed_one() -> None:
    state = _state()
    _complete(state)
    assert state.missing({"ticket": "T", "owner_team": "other"}) == [
        "annotation owner_team is fixed by the contract to 'payments', not 'other'"
    ]


def test_check_complete_raises_with_the_commands_to_run() -> None:
    state = _state()
    state.add_material(_material("image", "CONTAINER_IMAGE"))
    with pytest.raises(ContractNotSatisfied) as err:
        state.check_complete({})
    assert err.value.message.startswith("contract release is not satisfied: material sbom")
    assert err.value.details["missing"] == state.missing()
    hint = err.value.hint or ""
    assert "chainproof attestation add --name sbom --value <SBOM_CYCLONEDX_JSON>" in hint
    assert "chainproof attestation add --name sast-a --value <SARIF>" in hint
    assert "chainproof attestation push --annotation ticket=VALUE" in hint
    assert "--name image" not in hint
    assert err.value.exit_code == 1


def test_check_complete_passes_when_satisfied() -> None:
    state = _state()
    _complete(state)
    state.check_complete({"ticket": "SEC-1"})


def test_empty_contract_is_always_complete() -> None:
    _state(Contract.empty("none")).check_complete({})


def test_json_round_trip() -> None:
    state = _state()
    _complete(state)
    state.add_material(_material("tests", "JUNIT_XML", summary={"tests": 3}), {"suite": "unit"})
    state.annotations["ticket"] = "SEC-1"
    state.git = {"commit": "a" * 40, "branch": "main"}
    again = CraftingState.from_json(state.to_json())
    assert again == state
    assert again.to_json() == state.to_json()


def test_save_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = _state()
    state.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert CraftingState.load(path) == state
    state.add_material(_material("image", "CONTAINER_IMAGE"))
    state.save(path)
    assert "image" in CraftingState.load(path).materials
    assert os.listdir(tmp_path) == ["state.json"]  # no temp file left behind


def test_failed_save_keeps_the_old_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    _state().save(path)
    before = path.read_bytes()

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    state = _state()
    state.add_material(_material("image", "CONTAINER_IMAGE"))
    with pytest.raises(OSError, match="disk full"):
        state.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["state.json"]


def test_load_without_a_state_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no attestation in progress") as err:
        CraftingState.load(tmp_path / "absent.json")
    assert "chainproof attestation init" in err.value.diagnostics()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ("{}", "version None"),
        ('{"version": 2}', "version 2"),
        ('{"version": 1}', "malformed.*server_url"),
    ],
)
def test_corrupt_state_is_refused(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=needle):
        CraftingState.load(path)


def test_state_with_a_bad_material_is_refused() -> None:
    data = json.loads(_state().to_json())
    data["materials"] = {"x": {"name": "x", "kind": "STRING", "digest": "md5:1", "size": 1}}
    with pytest.raises(InvalidInput, match="attestation state is malformed"):
        CraftingState.from_dict(data)


def test_policy_evaluations_round_trip_and_go_with_a_replaced_material() -> None:
    state = _state()
    state.add_material(_material("sbom", "SBOM_CYCLONEDX_JSON", b"one"))
    evaluation = {"name": "sbom-ntia", "materialName": "sbom", "violations": []}
    state.policy_evaluations["sbom"] = [evaluation]
    again = CraftingState.from_json(state.to_json())
    assert again.policy_evaluations == {"sbom": [evaluation]}
    again.add_material(_material("sbom", "SBOM_CYCLONEDX_JSON", b"two"))
    assert again.policy_evaluations == {}


def test_a_state_without_policy_evaluations_still_loads() -> None:
    data = _state().to_dict()
    del data["policy_evaluations"]  # written before policies existed
    assert CraftingState.from_dict(data).policy_evaluations == {}


def test_a_pending_push_round_trips_and_goes_with_new_evidence() -> None:
    state = _state()
    assert "pending_push" not in state.to_dict()  # absent until a push signs
    pending = {"bundle": {"mediaType": "x"}, "idempotency_key": "push-1", "public_key": None}
    state.pending_push = pending
    again = CraftingState.from_json(state.to_json())
    assert again.pending_push == pending
    again.add_material(_material("image", "CONTAINER_IMAGE"))
    assert again.pending_push is None
