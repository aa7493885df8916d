"""Policy and PolicyGroup documents: what parses, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainproof.errors import PolicyError
from chainproof.policy import Policy, PolicyGroup, PolicyLoader, parse_document
from chainproof.policy.document import PolicyInput

USER = Path(__file__).resolve().parents[2] / "assets" / "policies" / "user"


def load(name: str) -> Policy | PolicyGroup:
    return PolicyLoader(base_dir=USER).file(USER / name)


def test_multi_kind_policy_with_an_embedded_and_a_file_script() -> None:
    policy = load("multi-kind.yaml")
    assert isinstance(policy, Policy)
    assert policy.name == "sbom-has-components"
    assert policy.annotations == {"category": "sbom"}
    assert policy.inputs == (PolicyInput("min", default="1"),)
    assert policy.kinds() == ("SBOM_CYCLONEDX_JSON", "SBOM_SPDX_JSON")
    cdx, spdx = policy.scripts
    # `embedded: |` is on line 15: the script's first line is line 16 of the file
    assert cdx.origin.endswith("multi-kind.yaml") and cdx.line_offset == 15
    assert spdx.origin == str(USER / "multi-kind-spdx.rego") and spdx.line_offset == 0
    assert "package sbom_has_components.spdx" in spdx.source
    assert policy.scripts_for("SBOM_SPDX_JSON") == (spdx,)
    assert policy.scripts_for("SARIF") == ()
    assert len(policy.digest) == 64


def test_legacy_single_script_form() -> None:
    policy = load("legacy.yaml")
    assert isinstance(policy, Policy)
    assert policy.kinds() == ("EVIDENCE",)
    assert policy.scripts[0].line_offset == 9


def test_policy_group() -> None:
    group = load("group.yaml")
    assert isinstance(group, PolicyGroup)
    assert [i.name for i in group.inputs] == ["sbom", "banned"]
    sbom, scan = group.materials
    assert sbom.name == "{{ inputs.sbom }}" and sbom.kind == "SBOM_CYCLONEDX_JSON"
    assert [p["ref"] for p in sbom.policies] == ["sbom-banned-licenses", "file://multi-kind.yaml"]
    assert sbom.policies[0]["with"] == {"licenses": "{{ inputs.banned }}"}
    assert scan.kind == "EVIDENCE"
    assert [a["ref"] for a in group.attestation] == ["runner-ci", "git-commit-clean"]


def test_attestation_phases() -> None:
    text = (USER / "bad-phase.yaml").read_text().replace("DEPLOY", "PUSH")
    policy = Policy.parse(text, source="phased.yaml")
    assert policy.phases_for("ATTESTATION") == ("INIT", "PUSH")


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (
            "bad-unknown-field.yaml",
            'bad-unknown-field.yaml:8: spec.policies[0].embeded: unknown field "embeded" '
            '(did you mean "embedded"?)',
        ),
        (
            "bad-artifact-kind.yaml",
            "bad-artifact-kind.yaml:7: spec.policies[0].kind: a policy cannot apply to "
            "ARTIFACT materials",
        ),
        (
            "bad-required-default.yaml",
            "bad-required-default.yaml:9: spec.inputs[0].default: input 'level' cannot be "
            "required and have a default",
        ),
        ("bad-api-version.yaml", "bad-api-version.yaml:1: apiVersion: must be 'chainloop.dev/v1'"),
        (
            "bad-phase.yaml",
            "bad-phase.yaml:8: spec.policies[0].attestation_phases[1]: must be one of INIT, "
            "PUSH, not 'DEPLOY'",
        ),
    ],
)
def test_errors_name_file_line_and_field(file: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        load(file)
    assert message in err.value.message
    assert err.value.details["source"].endswith(file)
    assert isinstance(err.value.details["line"], int)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the document is empty"),
        ("kind: [", "not valid YAML or JSON"),
        ("apiVersion: chainloop.dev/v1\nkind: Contract\n", "must be 'Policy' or 'PolicyGroup'"),
        (
            "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: Bad_Name}\nspec: {}\n",
            "is not a DNS-1123 label",
        ),
        (
            "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec: {}\n",
            "a policy needs at least one script",
        ),
        (
            "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: x}\n"
            "spec: {policies: [{kind: SARIF, embedded: a, path: b.rego}]}\n",
            "exactly one of embedded, ref or path",
        ),
        (
            "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: x}\n"
            "spec: {auto_match: {embedded: a}, policies: []}\n",
            "auto_match policies are not supported",
        ),
        (
            "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: x}\n"
            "spec: {policies: [{kind: SBOM_CYCLONEDX, embedded: a}]}\n",
            "did you mean SBOM_CYCLONEDX_XML or SBOM_CYCLONEDX_JSON",
        ),
        (
            "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: x}\n"
            "spec: {inputs: [{name: a}, {name: a}], policies: [{kind: SARIF, embedded: a}]}\n",
            "duplicate input 'a'",
        ),
        (
            "apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata: {name: g}\n"
            "spec: {policies: {materials: [{name: a}, {name: a}]}}\n",
            "duplicate material 'a'",
        ),
        (
            "apiVersion: chainloop.dev/v1\nkind: Policy\nmetadata: {name: x}\n"
            "spec: {policies: [{kind: SARIF, path: x.rego}]}\n",
            "cannot read 'x.rego' here",
        ),
    ],
)
def test_invalid_documents(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=None) as err:
        parse_document(text, source="p.yaml")
    assert message in err.value.message
    assert err.value.message.startswith("p.yaml")


def test_a_group_is_not_a_policy() -> None:
    with pytest.raises(PolicyError, match="is a PolicyGroup, not a Policy"):
        Policy.parse((USER / "group.yaml").read_bytes(), source="group.yaml")
    with pytest.raises(PolicyError, match="is a Policy, not a PolicyGroup"):
        PolicyGroup.parse((USER / "legacy.yaml").read_bytes(), source="legacy.yaml")


def test_from_dict_reads_an_embedded_policy() -> None:
    policy = Policy.from_dict(
        {
            "apiVersion": "chainloop.dev/v1",
            "kind": "Policy",
            "metadata": {"name": "inline"},
            "spec": {"policies": [{"kind": "SARIF", "embedded": "package inline\n"}]},
        },
        source="contract",
    )
    assert policy.name == "inline"
    assert policy.scripts[0].line_offset is None  # a JSON string: lines do not map
