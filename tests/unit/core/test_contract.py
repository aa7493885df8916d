"""Contract parsing and validation: both formats, YAML and JSON, line-accurate errors."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
import yaml

from chainproof.core.contract import (
    MAX_CONTRACT_BYTES,
    Annotation,
    Contract,
    MaterialSpec,
)
from chainproof.core.kinds import MaterialKind, RunnerType
from chainproof.errors import ContractError

ASSETS = Path(__file__).parent.parent.parent / "assets" / "contracts"


def load(name: str) -> Contract:
    return Contract.parse((ASSETS / name).read_text(encoding="utf-8"), source=name)


def refuse(text: str | bytes, source: str = "c.yaml") -> ContractError:
    with pytest.raises(ContractError) as info:
        Contract.parse(text, source=source)
    return info.value


def refuse_file(name: str) -> ContractError:
    return refuse((ASSETS / name).read_text(encoding="utf-8"), source=name)


def where(err: ContractError) -> tuple[object, object, object]:
    return err.details["source"], err.details["line"], err.details["field"]


# -- the good formats --------------------------------------------------------------------------


def test_current_yaml_parses_every_field() -> None:
    c = load("current.yaml")
    assert c.name == "release"
    assert c.description == "Release gate for the build workflow"
    assert c.metadata_annotations == {"team": "payments"}
    assert [m.name for m in c.materials] == ["sbom", "spdx", "image", "binary"]
    assert c.material("image") == MaterialSpec(
        name="image",
        kind="CONTAINER_IMAGE",
        output=True,
        annotations=(Annotation("component", "api"), Annotation("version", "")),
    )
    binary = c.material("binary")
    assert binary is not None and binary.optional and binary.skip_upload and binary.group is None
    assert c.material("nope") is None
    assert c.env_allow_list == ("RELEASE_TRAIN",)
    assert c.runner_type == "GITHUB_ACTION"
    assert c.annotations == (Annotation("owner_team", "payments"), Annotation("release", ""))
    assert c.policies["materials"] == [
        {
            "ref": "chainloop://cyclonedx-freshness",
            "with": {"limit": "30"},
            "selector": {"name": "sbom", "match_mode": "EXACT"},
            "gate": True,
        }
    ]
    # disabled: false means the same as no disabled, so it is dropped.
    assert c.policies["attestation"][0]["requirements"] == ["acme/slsa/build-l2"]
    assert "disabled" not in c.policies["attestation"][0]
    assert c.policies["attestation"][0]["embedded"]["kind"] == "Policy"
    assert c.policy_groups == (
        {
            "ref": "file://groups/sbom.yaml",
            "with": {"severity": "HIGH"},
            "skip": ["sbom-ntia"],
            "gate": False,
        },
    )
    assert {g: [m.name for m in ms] for g, ms in c.groups().items()} == {"sboms": ["sbom", "spdx"]}


def test_yaml_and_json_give_equal_contracts_and_dicts() -> None:
    from_yaml, from_json = load("current.yaml"), load("current.json")
    assert from_yaml == from_json
    assert from_yaml.to_dict() == from_json.to_dict()


def test_legacy_format_equals_current_without_metadata() -> None:
    legacy = load("legacy.yaml")
    current = load("current.yaml")
    assert legacy == dataclasses.replace(
        current, name=None, description=None, metadata_annotations={}
    )


def test_legacy_as_json() -> None:
    data = yaml.safe_load((ASSETS / "legacy.yaml").read_text())
    assert Contract.parse(json.dumps(data), source="legacy.json") == load("legacy.yaml")


def test_protojson_spellings_as_chainloop_writes_them() -> None:
    # skipUpload and matchMode are the proto fields' JSON names; Chainloop takes both.
    assert load("protojson.json") == load("legacy.yaml")


def test_chainloop_prefixed_kind_names() -> None:
    c = Contract.parse(
        "schemaVersion: v1\nmaterials:\n  - {type: CHAINLOOP_RUNNER_CONTEXT, name: ctx}\n"
        "  - {type: CHAINLOOP_PR_INFO, name: pr}\n"
    )
    assert [m.kind for m in c.materials] == ["RUNNER_CONTEXT", "PR_INFO"]


def test_anchors_and_merge_keys() -> None:
    c = load("anchors.yaml")
    assert c.materials == (
        MaterialSpec(name="sbom-api", kind="SBOM_CYCLONEDX_JSON", optional=True, group="sboms"),
        MaterialSpec(name="sbom-web", kind="SBOM_CYCLONEDX_JSON", optional=True, group="sboms"),
        # The first merged mapping wins over later ones; explicit keys win over all.
        MaterialSpec(name="sbom-cli", kind="SBOM_CYCLONEDX_JSON", output=True, group="sboms"),
    )
    assert c.policies == {
        "materials": [
            {"ref": "cyclonedx-freshness", "with": {"limit": "30"}},
            {"ref": "cyclonedx-freshness", "with": {"limit": "30"}, "gate": True},
        ]
    }


def test_merged_key_errors_point_at_the_anchor() -> None:
    err = refuse("schemaVersion: v1\nmaterials:\n  - &m {type: STRING, name: a}\n  - <<: *m\n")
    assert where(err) == ("c.yaml", 3, "materials[1].name")
    assert 'duplicate material name "a"' in str(err)
    # Overriding a merged key is what merging is for; writing a key twice is not.
    err = refuse("schemaVersion: v1\nrunner: {<<: {type: GENERIC}, type: X, type: Y}\n")
    assert where(err) == ("c.yaml", 2, "runner.type") and "duplicate key" in str(err)


def test_recursive_alias_is_refused() -> None:
    err = refuse("schemaVersion: v1\nmaterials: &a [*a]\n")
    assert "nested too deeply" in str(err)
    err = refuse("schemaVersion: v1\nrunner: &r {<<: *r}\n")
    assert "nested too deeply" in str(err)


def test_contract_names_follow_the_control_plane() -> None:
    # The server names an empty contract after its workflow: such names must round-trip.
    for name in ("my_workflow", "Build.Release-2", "a" * 100):
        c = Contract.empty(name)
        assert Contract.from_dict(c.to_dict()) == c
        assert Contract.parse(c.to_json()).name == name
    for bad in ("", "-x", "a b", "a" * 101, "ünï"):
        with pytest.raises(ContractError) as info:
            Contract.empty(bad)
        assert info.value.details["field"] == "metadata.name"


def test_empty_selector_and_unset_values_are_dropped() -> None:
    terse = HEAD + "  policies:\n    materials:\n      - {ref: a}\n"
    verbose = (
        HEAD + "  policies:\n    materials:\n      - ref: a\n        selector: {name: ''}\n"
        "        with: {}\n        requirements: []\n        disabled: false\n"
        "        embedded: null\n"
    )
    assert Contract.parse(terse).policies == {"materials": [{"ref": "a"}]}
    assert Contract.parse(verbose).to_dict() == Contract.parse(terse).to_dict()


def test_bytes_and_tab_indented_json() -> None:
    text = (ASSETS / "current.json").read_text()
    tabbed = json.dumps(json.loads(text), indent="\t")
    assert Contract.parse(text.encode()) == load("current.yaml")
    assert Contract.parse(tabbed) == load("current.yaml")


def test_unspecified_runner_and_empty_sections() -> None:
    c = Contract.parse("schemaVersion: v1\nrunner: {type: RUNNER_TYPE_UNSPECIFIED}\n")
    assert c == Contract()
    c = Contract.parse(
        "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: x}\n"
        "spec: {materials: [], policies: {materials: []}, runner: {}}\n"
    )
    assert c == Contract.empty("x")


# -- normal form and round trips ---------------------------------------------------------------


def test_to_dict_normal_form() -> None:
    d = Contract.parse("schemaVersion: v1\nmaterials: [{type: STRING, name: version}]\n").to_dict()
    assert d == {
        "apiVersion": "chainloop.dev/v1",
        "kind": "Contract",
        "metadata": {"name": None},
        "spec": {
            "materials": [
                {
                    "type": "STRING",
                    "name": "version",
                    "optional": False,
                    "output": False,
                    "skip_upload": False,
                    "group": None,
                    "annotations": [],
                }
            ],
            "envAllowList": [],
            "annotations": [],
            "policies": {},
            "policyGroups": [],
        },
    }


def test_defaults_written_or_not_give_the_same_dict() -> None:
    terse = "schemaVersion: v1\nmaterials: [{type: STRING, name: v}]\n"
    verbose = (
        "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {description: ''}\n"
        "spec:\n  materials:\n    - {type: STRING, name: v, optional: false, output: false,"
        " skip_upload: false, group: '', annotations: []}\n"
        "  envAllowList: []\n  annotations: []\n  policies: {materials: [], attestation: []}\n"
        "  policyGroups: []\n  runner: {type: RUNNER_TYPE_UNSPECIFIED}\n"
    )
    assert Contract.parse(terse).to_dict() == Contract.parse(verbose).to_dict()


@pytest.mark.parametrize(
    "name", ["current.yaml", "current.json", "legacy.yaml", "protojson.json", "anchors.yaml"]
)
def test_round_trips(name: str) -> None:
    c = load(name)
    assert Contract.from_dict(c.to_dict()) == c
    assert Contract.parse(json.dumps(c.to_dict())) == c
    assert Contract.parse(yaml.safe_dump(c.to_dict())) == c
    assert Contract.parse(c.to_json()) == c


def test_to_dict_is_a_copy() -> None:
    c = load("current.yaml")
    c.to_dict()["spec"]["policies"]["materials"][0]["gate"] = False
    assert c.policies["materials"][0]["gate"] is True


def test_empty_contract() -> None:
    c = Contract.empty("build")
    assert c.name == "build" and c.materials == () and c.groups() == {}
    assert Contract.from_dict(c.to_dict()) == c
    assert Contract.from_dict(Contract.empty().to_dict()) == Contract.empty()


# -- errors from files, with line and field ----------------------------------------------------


def test_bad_material_name() -> None:
    err = refuse_file("bad-name.yaml")
    assert where(err) == ("bad-name.yaml", 12, "spec.materials[2].name")
    assert str(err).startswith(
        'bad-name.yaml:12: spec.materials[2].name: "Bad_Name" is not a DNS-1123 label'
    )


def test_duplicate_material_points_at_the_second() -> None:
    err = refuse_file("bad-duplicate.yaml")
    assert where(err) == ("bad-duplicate.yaml", 12, "spec.materials[2].name")
    assert 'duplicate material name "version"' in str(err)


def test_unknown_field_is_named_with_allowed_ones() -> None:
    err = refuse_file("bad-unknown-field.yaml")
    assert where(err) == ("bad-unknown-field.yaml", 9, "spec.materials[0].optionl")
    assert 'unknown field "optionl" (did you mean "optional"?)' in str(err)
    assert "allowed: type, name, optional, output, annotations, skip_upload, group" in str(err)


def test_unknown_material_kind_suggests_closest() -> None:
    err = refuse_file("bad-kind.yaml")
    assert where(err) == ("bad-kind.yaml", 5, "materials[1].type")
    assert "did you mean SBOM_CYCLONEDX_" in str(err)
    assert "SBOM_CYCLONEDX_JSON" in str(err) and "SBOM_CYCLONEDX_XML" in str(err)


def test_unknown_kind_without_close_match_lists_kinds() -> None:
    err = refuse("schemaVersion: v1\nmaterials: [{type: QQQQ, name: a}]\n")
    assert "known: STRING, ARTIFACT" in str(err)


def test_unknown_runner_type() -> None:
    err = refuse_file("bad-runner.yaml")
    assert where(err) == ("bad-runner.yaml", 4, "runner.type")
    assert '"TRAVIS_CI"' in str(err) and "runner type" in str(err)


def test_wrong_value_type() -> None:
    err = refuse_file("bad-type.yaml")
    assert where(err) == ("bad-type.yaml", 8, "spec.materials[0].optional")
    assert 'must be true or false, not a string "yes"' in str(err)


def test_yaml_syntax_error_has_a_line() -> None:
    err = refuse_file("bad-syntax.yaml")
    assert err.details["line"] == 7
    assert err.details["field"] is None
    assert str(err).startswith("bad-syntax.yaml:7: not valid YAML or JSON")


def test_duplicate_mapping_key() -> None:
    err = refuse_file("bad-duplicate-key.yaml")
    assert where(err) == ("bad-duplicate-key.yaml", 5, "materials[0].type")
    assert "duplicate key" in str(err)


def test_env_allow_list_names() -> None:
    err = refuse_file("bad-env.yaml")
    assert where(err) == ("bad-env.yaml", 4, "envAllowList[1]")
    assert '"1BAD-NAME" is not an environment variable name' in str(err)


def test_duplicate_key_in_json() -> None:
    err = refuse('{\n  "schemaVersion": "v1",\n  "schemaVersion": "v1"\n}', source="c.json")
    assert where(err) == ("c.json", 3, "schemaVersion")


# -- errors from inline text -------------------------------------------------------------------

HEAD = "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: c}\nspec:\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [
        ("", None, None, "the contract is empty"),
        ("  \n# only a comment\n", None, None, "the contract is empty"),
        ("- a\n- b\n", 1, "(document)", "must be a mapping, not a list"),
        ("name: x\n", 1, "(document)", "neither contract format"),
        ("schemaVersion: v2\n", 1, "schemaVersion", 'unsupported "v2"'),
        ("apiVersion: v1\nkind: Contract\n", 1, "apiVersion", '"chainloop.dev/v1"'),
        ("apiVersion: chainloop.dev/v1\nkind: Policy\n", 2, "kind", 'must be "Contract"'),
        ("schemaVersion: v1\nkind: Contract\n", 1, "schemaVersion", "mixes both formats"),
        ("schemaVersion: v1\nmetadata: {}\n", 2, "metadata", "unknown field"),
        (
            "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: release notes}\n",
            3,
            "metadata.name",
            '"release notes" is not a contract name',
        ),
        ("apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: []\n", 3, "metadata", "mapping"),
        ("apiVersion: chainloop.dev/v1\nkind: Contract\nspec: 0\n", 3, "spec", "mapping"),
        ("apiVersion: chainloop.dev/v1\nkind: Contract\nspec: ''\n", 3, "spec", "mapping"),
        (HEAD + "  materials:\n    - type: STRING\n", 6, "spec.materials[0].name", "needs a name"),
        (HEAD + "  materials:\n    - name: v\n", 6, "spec.materials[0].type", "needs a type"),
        (
            HEAD + "  materials:\n    - name: v\n      type: null\n",
            7,
            "spec.materials[0].type",
            "needs a type",
        ),
        (
            HEAD
            + "  materials:\n    - {type: STRING, name: v, skip_upload: true, skipUpload: 1}\n",
            6,
            "spec.materials[0].skipUpload",
            '"skip_upload" is given too',
        ),
        (
            HEAD + "  materials:\n    - type: STRING\n      name: v\n      skipUpload: 'no'\n",
            8,
            "spec.materials[0].skip_upload",
            "true or false",
        ),
        ("schemaVersion: v1\nmaterials: !!set {a, b}\n", 2, "materials", "unsupported tag"),
        ("schemaVersion: v1\nmaterials: !!omap [a: 1]\n", 2, "materials", "unsupported tag"),
        ("schemaVersion: v1\nrunner: !custom {type: GENERIC}\n", 2, "runner", "unsupported tag"),
        ("schemaVersion: v1\nmaterials: [{<<: [1], name: a}]\n", 2, "materials[0]", "<<"),
        (
            HEAD + "  materials:\n    - {type: STRING, name: " + "a" * 64 + "}\n",
            6,
            "spec.materials[0].name",
            "at most 63",
        ),
        (HEAD + "  materials: {a: b}\n", 5, "spec.materials", "must be a list"),
        (HEAD + "  envAllowList: [7]\n", 5, "spec.envAllowList[0]", "7 is not an environment"),
        (HEAD + "  runner: GITHUB_ACTION\n", 5, "spec.runner", "must be a mapping"),
        (
            HEAD + "  annotations:\n    - name: bad-name\n",
            6,
            "spec.annotations[0].name",
            '"bad-name" is not an annotation name',
        ),
        (
            HEAD + "  annotations:\n    - {name: a, value: 1.10}\n",
            6,
            "spec.annotations[0].value",
            "quote it",
        ),
        (
            HEAD + "  annotations:\n    - {name: a}\n    - {name: a}\n",
            7,
            "spec.annotations[1].name",
            "duplicate annotation",
        ),
        (
            HEAD + "  policies:\n    materials:\n      - {ref: a, embedded: {}}\n",
            7,
            "spec.policies.materials[0]",
            "exactly one of ref or embedded",
        ),
        (
            HEAD + "  policies:\n    materials:\n      - {}\n",
            7,
            "spec.policies.materials[0]",
            "exactly one of ref or embedded",
        ),
        (
            HEAD + "  policies:\n    attestation:\n      - ref: a\n        with: {n: 1.10}\n",
            8,
            "spec.policies.attestation[0].with.n",
            "must be a string",
        ),
        (
            HEAD + "  policies:\n    attestation:\n      - ref: a\n        gate: 'no'\n",
            8,
            "spec.policies.attestation[0].gate",
            "true or false",
        ),
        (
            HEAD
            + "  policies:\n    materials:\n      - ref: a\n        selector: {match_mode: X}\n",
            8,
            "spec.policies.materials[0].selector.match_mode",
            "EXACT, PREFIX",
        ),
        (
            HEAD + "  policies:\n    materials:\n      - {ref: a, requirements: [1]}\n",
            7,
            "spec.policies.materials[0].requirements[0]",
            "must be a string",
        ),
        (
            HEAD + "  policies:\n    gates: []\n",
            6,
            "spec.policies.gates",
            "allowed: materials, attestation",
        ),
        (
            HEAD + "  policyGroups:\n    - {with: {a: b}}\n",
            6,
            "spec.policyGroups[0]",
            "needs a ref",
        ),
        (
            HEAD + "  policyGroups:\n    - {ref: g, skip: p}\n",
            6,
            "spec.policyGroups[0].skip",
            "must be a list",
        ),
        (
            HEAD + "  policyGroups:\n    - {ref: g, selector: {}}\n",
            6,
            "spec.policyGroups[0].selector",
            "unknown field",
        ),
        (
            HEAD
            + "  policies:\n    attestation:\n      - embedded:\n          since: 2024-01-01\n",
            8,
            "spec.policies.attestation[0].embedded.since",
            "must be JSON data, not date",
        ),
        (
            HEAD + "  policies:\n    attestation:\n      - embedded: {spec: [.nan]}\n",
            7,
            "spec.policies.attestation[0].embedded.spec[0]",
            "no JSON form",
        ),
        ("schemaVersion: v1\n? [a]\n: b\n", 2, "(document)", "keys must be plain text"),
        ("schemaVersion: v1\nannotations: [{name: a, value: !!binary aGk=}]\n", 2, None, ""),
    ],
)
def test_errors(text: str, line: int | None, field: str | None, fragment: str) -> None:
    err = refuse(text)
    assert err.details["source"] == "c.yaml"
    assert err.details["line"] == line
    if field is not None:
        assert err.details["field"] == field
        assert f": {field}: " in str(err)
    assert fragment in str(err)
    assert isinstance(err, ContractError) and err.code == "invalid_contract"


def test_too_large_is_refused_before_parsing() -> None:
    err = refuse("#" * (MAX_CONTRACT_BYTES + 1))
    assert "larger than" in str(err) and err.details["line"] is None
    err = refuse(b"x" * (MAX_CONTRACT_BYTES + 1))
    assert "larger than" in str(err)


def test_not_utf8() -> None:
    assert "not UTF-8" in str(refuse(b"\xff\xfe schemaVersion"))


def test_alias_bomb_is_refused() -> None:
    lines = ["schemaVersion: v1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    err = refuse("\n".join(lines) + "\n")
    assert "too large or nested too deeply" in str(err)


def test_deep_nesting_is_refused() -> None:
    err = refuse("schemaVersion: v1\nmaterials: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in str(err)


def test_from_dict_errors_have_field_and_no_line() -> None:
    good = load("current.yaml").to_dict()
    good["spec"]["materials"][1]["name"] = "sbom"
    with pytest.raises(ContractError) as info:
        Contract.from_dict(good)
    assert info.value.details == {
        "source": "<contract>",
        "line": None,
        "field": "spec.materials[1].name",
    }
    assert str(info.value).startswith("<contract>: spec.materials[1].name: duplicate")
    with pytest.raises(ContractError):
        Contract.from_dict([1, 2])  # type: ignore[arg-type]


# -- generated contracts -----------------------------------------------------------------------


def _generated(seed: int) -> Contract:
    """A valid contract drawn from ``seed``; each seed gives a different mix of fields."""
    rnd = random.Random(seed)
    kinds = [k.value for k in MaterialKind]

    def annotations(n: int) -> tuple[Annotation, ...]:
        return tuple(Annotation(f"a_{i}", rnd.choice(["", "x", "1.10", "a: b"])) for i in range(n))

    materials = tuple(
        MaterialSpec(
            name=f"m{i}-{rnd.choice(['sbom', 'img', 'x'])}",
            kind=rnd.choice(kinds),
            optional=rnd.random() < 0.5,
            output=rnd.random() < 0.3,
            skip_upload=rnd.random() < 0.2,
            group=rnd.choice([None, "g1", "g2"]),
            annotations=annotations(rnd.randrange(3)),
        )
        for i in range(rnd.randrange(6))
    )
    attachment = {"ref": "p", "with": {"k": "v, w"}, "gate": rnd.random() < 0.5}
    return Contract(
        name=rnd.choice([None, f"c{seed}", f"C_{seed}.x"]),
        description=rnd.choice([None, "some: text"]),
        materials=materials,
        env_allow_list=tuple(f"VAR_{i}" for i in range(rnd.randrange(3))),
        runner_type=rnd.choice([None, *(r.value for r in RunnerType)]),
        annotations=annotations(rnd.randrange(3)),
        policies=rnd.choice([{}, {"materials": [attachment]}, {"attestation": [{"ref": "q"}]}]),
        policy_groups=rnd.choice([(), ({"ref": "g", "skip": ["p"]},)]),
        metadata_annotations=rnd.choice([{}, {"team": "a", "on": "yes"}]),
    )


@pytest.mark.parametrize("seed", range(40))
def test_generated_contracts_round_trip(seed: int) -> None:
    c = _generated(seed)
    d = c.to_dict()
    assert Contract.from_dict(d) == c
    assert Contract.parse(json.dumps(d)) == c
    assert Contract.parse(yaml.safe_dump(d, sort_keys=False)) == c
    assert Contract.from_dict(d).to_dict() == d
    # The older format says the same minus metadata.
    legacy = {"schemaVersion": "v1", **d["spec"]}
    assert Contract.parse(yaml.safe_dump(legacy)) == dataclasses.replace(
        c, name=None, description=None, metadata_annotations={}
    )


def test_required_policies_are_attached_after_the_contracts_own() -> None:
    from chainproof.core.contract import parse_required_policies

    contract = Contract.parse(
        "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: c}\n"
        "spec:\n  policies:\n    materials: [{ref: sbom-ntia}]\n"
    )
    required = parse_required_policies(
        {
            "policies": {
                "materials": [{"ref": "sbom-freshness"}],
                "attestation": [{"ref": "runner-ci", "gate": True}],
            },
            "policyGroups": [{"ref": "sbom-quality"}],
        }
    )
    merged = contract.with_required(required)
    assert [p["ref"] for p in merged.policies["materials"]] == ["sbom-ntia", "sbom-freshness"]
    assert [p["ref"] for p in merged.policies["attestation"]] == ["runner-ci"]
    assert [g["ref"] for g in merged.policy_groups] == ["sbom-quality"]
    assert [p["ref"] for p in contract.policies["materials"]] == ["sbom-ntia"]  # unchanged
    assert Contract.from_dict(merged.to_dict()) == merged
    with pytest.raises(ContractError, match="unknown field 'materials'"):
        parse_required_policies({"materials": []})


def test_with_takes_yaml_booleans_and_integers_as_text() -> None:
    """Chainloop's documentation writes `check_signature: yes` unquoted."""
    contract = Contract.parse(
        HEAD
        + "  policies:\n    attestation:\n"
        + "      - ref: source-commit\n        with: {check_signature: yes, min: 3, off: false}\n",
        source="c.yaml",
    )
    (attachment,) = contract.policies["attestation"]
    assert attachment["with"] == {"check_signature": "true", "min": "3", "off": "false"}
