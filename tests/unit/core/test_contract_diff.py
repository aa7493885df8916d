"""The contract revision diff: every section, each change type, and what counts as new."""

from __future__ import annotations

from typing import Any

from chainproof.core.contract import Contract
from chainproof.core.contract_diff import Change, diff, new_requirements, plain_words


def contract(**spec: Any) -> Contract:
    return Contract.from_dict(
        {
            "apiVersion": "chainloop.dev/v1",
            "kind": "Contract",
            "metadata": {"name": "c"},
            "spec": spec,
        }
    )


def lines(old: Contract, new: Contract) -> list[tuple[str, str, str, bool]]:
    return [(c.section, c.op, c.name, c.requirement) for c in diff(old, new)]


def test_identical_revisions_have_no_diff() -> None:
    spec = {"materials": [{"name": "sbom", "type": "SBOM_CYCLONEDX_JSON"}]}
    assert diff(contract(**spec), contract(**spec)) == []


def test_materials_added_removed_changed() -> None:
    old = contract(
        materials=[
            {"name": "sbom", "type": "SBOM_CYCLONEDX_JSON"},
            {"name": "logs", "type": "ARTIFACT", "optional": True},
            {"name": "gone", "type": "STRING"},
            {"name": "img", "type": "CONTAINER_IMAGE", "output": False},
        ]
    )
    new = contract(
        materials=[
            {"name": "sbom", "type": "SBOM_CYCLONEDX_JSON"},
            {"name": "logs", "type": "ARTIFACT"},  # optional → required
            {"name": "img", "type": "CONTAINER_IMAGE", "output": True},  # not a requirement
            {"name": "dockerfile", "type": "ARTIFACT"},
            {"name": "notes", "type": "STRING", "optional": True},
        ]
    )
    assert lines(old, new) == [
        ("materials", "~", "logs", True),
        ("materials", "~", "img", False),
        ("materials", "+", "dockerfile", True),
        ("materials", "+", "notes", False),
        ("materials", "-", "gone", False),
    ]
    by_name = {c.name: c for c in diff(old, new)}
    assert by_name["logs"].detail == "optional: true → false"
    assert by_name["img"].detail == "output: false → true"
    assert by_name["notes"].detail == "STRING, optional"
    assert plain_words(new_requirements(old, new)) == (
        'material "logs" (ARTIFACT, now required), material "dockerfile" (ARTIFACT)'
    )


def test_material_kind_and_annotation_changes_are_requirements() -> None:
    old = contract(materials=[{"name": "a", "type": "ARTIFACT"}])
    new = contract(materials=[{"name": "a", "type": "STRING", "annotations": [{"name": "team"}]}])
    [change] = diff(old, new)
    assert change.op == "~" and change.requirement
    assert "kind: ARTIFACT → STRING" in change.detail and "annotations" in change.detail


def test_runner_added_changed_removed() -> None:
    none, gha, gitlab = (
        contract(),
        contract(runner={"type": "GITHUB_ACTION"}),
        contract(runner={"type": "GITLAB_PIPELINE"}),
    )
    assert lines(none, gha) == [("runner", "+", "GITHUB_ACTION", True)]
    assert lines(gha, gitlab) == [("runner", "~", "GITLAB_PIPELINE", True)]
    assert diff(gha, gitlab)[0].detail == "was GITHUB_ACTION"
    assert lines(gha, none) == [("runner", "-", "GITHUB_ACTION", False)]


def test_env_allow_list() -> None:
    old = contract(envAllowList=["A", "B"])
    new = contract(envAllowList=["B", "C"])
    assert lines(old, new) == [("env", "+", "C", True), ("env", "-", "A", False)]


def test_policies_added_removed_changed_with_arguments() -> None:
    old = contract(
        policies={
            "materials": [{"ref": "sbom-present"}, {"ref": "cve", "with": {"severity": "high"}}],
            "attestation": [{"ref": "old-one"}],
        }
    )
    new = contract(
        policies={
            "materials": [{"ref": "sbom-present"}, {"ref": "cve", "with": {"severity": "low"}}],
            "attestation": [{"ref": "sbom-ntia", "gate": True}],
        },
        policyGroups=[{"ref": "slsa"}],
    )
    assert lines(old, new) == [
        ("policies", "~", "cve", True),
        ("policies", "+", "sbom-ntia", True),
        ("policies", "+", "group slsa", True),
        ("policies", "-", "old-one", False),
    ]
    by_name = {c.name: c for c in diff(old, new)}
    assert by_name["cve"].detail == 'with: {"severity": "high"} → {"severity": "low"}'
    assert by_name["sbom-ntia"].detail == "on attestation, gate"
    assert plain_words([by_name["sbom-ntia"]]) == 'policy "sbom-ntia" (on attestation, gate)'


def test_annotations_added_removed_changed() -> None:
    old = contract(annotations=[{"name": "team"}, {"name": "tier", "value": "2"}, {"name": "x"}])
    new = contract(
        annotations=[
            {"name": "team", "value": "payments"},
            {"name": "tier", "value": "2"},
            {"name": "owner"},
        ]
    )
    assert lines(old, new) == [
        ("annotations", "~", "team", True),
        ("annotations", "+", "owner", True),
        ("annotations", "-", "x", False),
    ]
    assert diff(old, new)[0].detail == "value: none → payments"
    assert diff(old, new)[1].detail == "value required"


def test_sections_come_in_order_and_new_requirements_drop_relaxations() -> None:
    old = contract(
        materials=[{"name": "a", "type": "ARTIFACT"}],
        envAllowList=["E"],
        annotations=[{"name": "n"}],
    )
    new = contract(
        materials=[{"name": "b", "type": "ARTIFACT"}],
        runner={"type": "GITHUB_ACTION"},
        policies={"attestation": [{"ref": "p"}]},
    )
    assert [c.section for c in diff(old, new)] == [
        "materials",
        "materials",
        "runner",
        "env",
        "policies",
        "annotations",
    ]
    assert [(c.section, c.name) for c in new_requirements(old, new)] == [
        ("materials", "b"),
        ("runner", "GITHUB_ACTION"),
        ("policies", "p"),
    ]
    assert diff(old, new)[1].to_dict() == {
        "section": "materials",
        "op": "-",
        "name": "a",
        "detail": "ARTIFACT",
        "requirement": False,
        "summary": "",
    }
    changed = diff(
        contract(materials=[{"name": "a", "type": "ARTIFACT", "optional": True}]),
        contract(materials=[{"name": "a", "type": "ARTIFACT"}]),
    )
    assert [Change.from_dict(c.to_dict()) for c in changed] == changed
