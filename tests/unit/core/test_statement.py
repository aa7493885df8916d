"""The in-toto Statement v1 with the chainproof predicate: rendering and parsing."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chainproof.core.contract import Annotation, Contract, MaterialSpec
from chainproof.core.crafting import CraftingState
from chainproof.core.digest import Digest
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.runners.base import RunnerContext
from chainproof.core.statement import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Statement,
    canonical_json,
    render_statement,
)
from chainproof.errors import InvalidInput

IMAGE = Digest("sha256", "1" * 64)
BIN = Digest("sha256", "2" * 64)
COMMIT = "c" * 40
FINISHED = datetime(2026, 11, 25, 6, 5, tzinfo=UTC)

CONTRACT = Contract(
    name="release",
    materials=(
        MaterialSpec("image", "CONTAINER_IMAGE", output=True),
        MaterialSpec("binary", "ARTIFACT", output=True, skip_upload=True),
        MaterialSpec("channel", "STRING"),
        MaterialSpec("sbom", "SBOM_CYCLONEDX_JSON", annotations=(Annotation("tool", "syft"),)),
    ),
    annotations=(Annotation("owner_team", "payments"), Annotation("ticket", "")),
)


def _state(
    *, git: bool = True, order: tuple[str, ...] = ("image", "binary", "channel", "sbom")
) -> CraftingState:
    state = CraftingState(
        server_url="http://cp",
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
        contract=CONTRACT,
        runner=RunnerContext(
            type="GITHUB_ACTION",
            url="https://ci/run/1",
            env={"B": "2", "A": "1"},
            environment="managed",
        ),
        started_on=datetime(2026, 11, 25, 7, 0, tzinfo=timezone(timedelta(hours=1))),
        git={"commit": COMMIT, "branch": "main"} if git else None,
    )
    materials = {
        "image": CraftedMaterial(
            name="image",
            kind="CONTAINER_IMAGE",
            digest=IMAGE,
            size=0,
            filename="ghcr.io/acme/shop",
            annotations={"chainproof.material.kind": "spoof"},
        ),
        "binary": CraftedMaterial(
            name="binary",
            kind="ARTIFACT",
            digest=BIN,
            size=42,
            filename="shop.tar.gz",
            upload_path=Path("/tmp/shop.tar.gz"),
        ),
        "channel": CraftedMaterial(
            name="channel",
            kind="STRING",
            digest=Digest.of_bytes(b"stable"),
            size=6,
            value="stable",
        ),
        "sbom": CraftedMaterial(
            name="sbom",
            kind="SBOM_CYCLONEDX_JSON",
            digest=Digest("sha256", "3" * 64),
            size=100,
            filename="sbom.json",
            upload_path=Path("/tmp/sbom.json"),
            summary={"components": 2, "format": "CycloneDX"},
        ),
    }
    for name in order:
        state.add_material(materials[name])
    return state


def _render(state: CraftingState | None = None, **kw: Any) -> dict[str, Any]:
    return render_statement(state or _state(), finished_on=FINISHED, cli_version="0.1.0", **kw)


def test_constants() -> None:
    assert STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert PREDICATE_TYPE == "https://chainproof.dev/attestation/v1"
    assert PAYLOAD_TYPE == "application/vnd.in-toto+json"


def test_subjects_are_outputs_git_head_and_the_workflow() -> None:
    st = _render()
    assert st["_type"] == STATEMENT_TYPE and st["predicateType"] == PREDICATE_TYPE
    subjects = st["subject"]
    assert subjects[:3] == [
        {
            "name": "shop.tar.gz",
            "digest": {"sha256": BIN.hex},
            "annotations": {"chainproof.material.name": "binary"},
        },
        {
            "name": "ghcr.io/acme/shop",
            "digest": {"sha256": IMAGE.hex},
            "annotations": {"chainproof.material.name": "image"},
        },
        {"name": "git.head", "digest": {"sha1": COMMIT}},
    ]
    predicate = st["predicate"]
    bound = {"workflow": predicate["workflow"], "materials": predicate["materials"]}
    assert subjects[3] == {
        "name": "chainproof.workflow.build",
        "digest": {"sha256": hashlib.sha256(canonical_json(bound)).hexdigest()},
    }
    assert len(subjects) == 4


def test_workflow_subject_is_always_there() -> None:
    state = _state(git=False, order=("channel",))
    subjects = _render(state)["subject"]
    assert [s["name"] for s in subjects] == ["chainproof.workflow.build"]
    # ... and it changes when the evidence changes
    other = _state(git=False, order=("channel", "sbom"))
    assert _render(other)["subject"][0]["digest"] != subjects[0]["digest"]


def test_predicate_workflow_runner_times_cli() -> None:
    p = _render()["predicate"]
    assert p["workflow"] == {
        "org": "acme",
        "project": "shop",
        "projectVersion": "v1.2.3",
        "name": "build",
        "team": "payments",
        "workflowID": "wf-1",
        "runID": "run-1",
        "contractName": "release",
        "contractRevision": 3,
    }
    assert p["runner"] == {
        "type": "GITHUB_ACTION",
        "url": "https://ci/run/1",
        "environment": "managed",
        "env": {"A": "1", "B": "2"},
    }
    assert p["startedOn"] == "2026-11-25T06:00:00Z"  # converted to UTC
    assert p["finishedOn"] == "2026-11-25T06:05:00Z"
    assert p["git"] == {"commit": COMMIT, "branch": "main"}
    assert p["policyEvaluations"] == {}
    assert p["cli"] == {"version": "0.1.0"}


def test_materials_are_resource_descriptors_sorted_by_name() -> None:
    materials = _render()["predicate"]["materials"]
    assert [m["name"] for m in materials] == ["binary", "channel", "image", "sbom"]
    binary, channel, image, sbom = materials
    assert binary == {
        "name": "binary",
        "digest": {"sha256": BIN.hex},
        "annotations": {
            "chainproof.material.name": "binary",
            "chainproof.material.kind": "ARTIFACT",
            "chainproof.material.filename": "shop.tar.gz",
            "chainproof.material.size": "42",
            "chainproof.material.cas": "false",  # skip_upload slot
            "chainproof.material.output": "true",
        },
    }
    assert base64.b64decode(channel["content"]) == b"stable"
    assert channel["annotations"]["chainproof.material.kind"] == "STRING"
    assert "chainproof.material.filename" not in channel["annotations"]
    assert "content" not in sbom
    assert image["annotations"]["chainproof.material.kind"] == "CONTAINER_IMAGE"  # not spoofed
    assert sbom["annotations"]["chainproof.material.cas"] == "true"
    assert sbom["annotations"]["tool"] == "syft"
    assert json.loads(sbom["annotations"]["chainproof.material.summary"]) == {
        "components": 2,
        "format": "CycloneDX",
    }


def test_attestation_annotations_contract_values_win() -> None:
    state = _state()
    state.annotations["recorded"] = "1"
    p = _render(state, annotations={"ticket": "SEC-1", "owner_team": "evil"})["predicate"]
    assert p["annotations"] == {"owner_team": "payments", "recorded": "1", "ticket": "SEC-1"}


def test_rendering_is_deterministic() -> None:
    one = canonical_json(_render(_state(order=("sbom", "channel", "binary", "image"))))
    two = canonical_json(_render(_state(order=("image", "binary", "channel", "sbom"))))
    assert one == two
    assert canonical_json(_render()) == two
    assert canonical_json(_render(annotations={"x": "y"})) != two


def test_naive_times_are_utc() -> None:
    st = render_statement(_state(), finished_on=datetime(2026, 11, 25, 6, 5), cli_version="0.1.0")
    assert st["predicate"]["finishedOn"] == "2026-11-25T06:05:00Z"


def test_rendered_statement_parses() -> None:
    st = Statement.from_json(canonical_json(_render()))
    assert st.predicate_type == PREDICATE_TYPE
    assert st.workflow_run_id == "run-1"
    assert st.material_digests() == {
        "binary": BIN,
        "channel": Digest.of_bytes(b"stable"),
        "image": IMAGE,
        "sbom": Digest("sha256", "3" * 64),
    }
    assert st.to_dict() == _render()
    assert json.loads(st.to_json()) == _render()
    assert len(st.subjects) == 4


def test_statement_to_dict_is_a_copy() -> None:
    st = Statement.from_json(_render())
    st.to_dict()["predicate"]["workflow"]["runID"] = "other"
    assert st.workflow_run_id == "run-1"


def _minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "a", "digest": {"sha256": "0" * 64}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (_minimal(_type="https://in-toto.io/Statement/v0.1"), "not an in-toto Statement v1"),
        (_minimal(subject=[]), "no subject"),
        (_minimal(subject={"a": 1}), "no subject"),
        (_minimal(subject=[{"name": "a"}]), "subject 0 has no digest"),
        (_minimal(subject=[{"name": "a", "digest": {}}]), "subject 0 has no digest"),
        (_minimal(subject=[{"name": "a", "digest": {"sha256": 1}}]), "malformed digest"),
        (_minimal(predicateType=None), "no predicateType"),
        (_minimal(predicate=[1]), "predicate is not an object"),
    ],
)
def test_invalid_statements_are_refused(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        Statement.from_json(json.dumps(data))


@pytest.mark.parametrize("text", ["{", "[]", b"\xff"])
def test_statement_that_is_not_a_json_object_is_refused(text: Any) -> None:
    with pytest.raises(InvalidInput):
        Statement.from_json(text)


def test_helpers_on_a_foreign_predicate() -> None:
    st = Statement.from_json(_minimal(predicate={"workflow": "nope"}))
    assert st.workflow_run_id is None
    assert st.material_digests() == {}
    with pytest.raises(InvalidInput, match="no digest"):
        Statement.from_json(_minimal(predicate={"materials": [{"name": "x"}]})).material_digests()


def test_canonical_json_is_the_documented_form() -> None:
    data = {"b": [1, {"z": "ü", "a": None}], "a": 1.5}
    assert canonical_json(data) == b'{"a":1.5,"b":[1,{"a":null,"z":"\\u00fc"}]}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(InvalidInput, match="not plain JSON"):
        Statement(_minimal(predicate={"when": datetime(2026, 1, 1)}))


def test_policy_evaluations_are_keyed_by_material() -> None:
    state = _state()
    evaluation = {"name": "sbom-ntia", "materialName": "sbom", "violations": [], "skipped": False}
    state.policy_evaluations = {"sbom": [evaluation], "image": []}
    assert _render(state)["predicate"]["policyEvaluations"] == {"sbom": [evaluation]}
