"""Runtime policy inputs: parsing ``--policy-input`` and its files, scoping, checking, and the
values a policy is evaluated with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.core.contract import Contract
from chainproof.core.materials import craft
from chainproof.errors import InvalidInput, PolicyError
from chainproof.policy import PolicyVerifier, RegoEngine
from chainproof.policy.input_files import split_spec
from chainproof.policy.runtime import (
    RuntimeInput,
    RuntimeInputs,
    parse_input_file_option,
    parse_policy_input,
    read_input_file,
)


@pytest.fixture(scope="module")
def engine() -> Iterator[RegoEngine]:
    with RegoEngine() as engine:
        yield engine


# -- --policy-input ------------------------------------------------------------------------
def test_parse_unscoped_and_scoped() -> None:
    assert parse_policy_input("licenses=MIT") == RuntimeInput("licenses", "MIT")
    assert parse_policy_input("sbom-banned-licenses:licenses=MIT, GPL-3.0-only") == (
        RuntimeInput("licenses", "MIT, GPL-3.0-only", "sbom-banned-licenses")
    )
    # Only the first '=' splits: a value may hold '=' and ':'.
    assert parse_policy_input("url=https://x/?a=b") == RuntimeInput("url", "https://x/?a=b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("licenses", "has no '='"),
        ("licenses=", "has no value after '='"),
        ("licenses=  ", "has no value after '='"),
        ("1st=x", "'1st' is not an input name"),
        ("=x", "'' is not an input name"),
        (":licenses=x", "'' is not a policy name"),
        ("my policy:licenses=x", "'my policy' is not a policy name"),
        ("p:=x", "'' is not an input name"),
    ],
)
def test_malformed_policy_inputs_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_policy_input(text)
    assert caught.value.exit_code == 2


# -- --policy-input-from-file --------------------------------------------------------------
def test_yaml_file_with_every_form(tmp_path: Path) -> None:
    path = tmp_path / "inputs.yaml"
    path.write_text(
        "licenses: [MIT, GPL-3.0-only]\n"
        "max_age_days: 7\n"
        "strict: true\n"
        "vulnerabilities:severity: HIGH\n"
        "sbom-freshness: {max_age_days: 3}\n",
        encoding="utf-8",
    )
    assert read_input_file(path) == [
        RuntimeInput("licenses", "MIT\nGPL-3.0-only"),
        RuntimeInput("max_age_days", "7"),
        RuntimeInput("strict", "true"),
        RuntimeInput("severity", "HIGH", "vulnerabilities"),
        RuntimeInput("max_age_days", "3", "sbom-freshness"),
    ]


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps({"p:licenses": "MIT"}), encoding="utf-8")
    assert read_input_file(path) == [RuntimeInput("licenses", "MIT", "p")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "expected a map"),
        ("", "expected a map"),
        ("licenses: null\n", "licenses: the value is not a string"),
        ("licenses: {a: {b: c}}\n", "licenses.a: the value is not a string"),
        ("licenses: [MIT, [x]]\n", "the value is not a string"),
        ("bad name: x\n", "'bad name' is not an input name"),
        ("a: [b\n", "not valid YAML or JSON: not YAML at line 2"),
    ],
)
def test_malformed_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inputs.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        read_input_file(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read it"):
        read_input_file(tmp_path / "absent.yaml")


# -- scoping -------------------------------------------------------------------------------
def test_scoped_beats_unscoped_and_later_beats_earlier() -> None:
    inputs = RuntimeInputs(
        (
            RuntimeInput("licenses", "scoped", "p"),
            RuntimeInput("licenses", "first"),
            RuntimeInput("licenses", "second"),
            RuntimeInput("other", "x", "q"),
        )
    )
    names = {"licenses", "other"}
    assert inputs.apply("p", None, {}, names) == {"licenses": "scoped"}
    assert inputs.apply("q", None, {}, names) == {"licenses": "second", "other": "x"}
    assert inputs.apply("q", None, {"kept": "k"}, {"licenses"}) == {
        "kept": "k",
        "licenses": "second",
    }


def test_material_inputs_apply_to_that_material_only() -> None:
    run = RuntimeInputs((RuntimeInput("licenses", "run"),))
    added = run.plus(RuntimeInputs((RuntimeInput("licenses", "add"),)).for_material("sbom"))
    names = {"licenses"}
    assert added.apply("p", "sbom", {}, names) == {"licenses": "add"}
    assert added.apply("p", "other", {}, names) == {"licenses": "run"}
    assert added.apply("p", None, {}, names) == {"licenses": "run"}


def test_round_trip_through_the_predicate_form() -> None:
    inputs = RuntimeInputs((RuntimeInput("a", "1", "p", "sbom"), RuntimeInput("b", "2")))
    listed = inputs.to_list()
    assert listed == [
        {"name": "a", "value": "1", "policy": "p", "material": "sbom"},
        {"name": "b", "value": "2"},
    ]
    assert RuntimeInputs.from_list(listed) == inputs
    assert RuntimeInputs.from_list(None) == RuntimeInputs()
    for bad in ({"a": 1}, [{"name": "a"}], [{"name": "a", "value": "1", "policy": 3}]):
        with pytest.raises(InvalidInput):
            RuntimeInputs.from_list(bad)


def test_check_names_the_unknown_input_and_what_is_declared() -> None:
    declared = {"p": {"licenses"}, "q": {"severity", "max"}}
    RuntimeInputs((RuntimeInput("severity", "x"), RuntimeInput("licenses", "y", "p"))).check(
        declared
    )
    with pytest.raises(InvalidInput, match="'sevrity': no policy of the contract declares it"):
        RuntimeInputs((RuntimeInput("sevrity", "x"),)).check(declared)
    with pytest.raises(InvalidInput, match="policy p declares no input 'severity'") as caught:
        RuntimeInputs((RuntimeInput("severity", "x", "p"),)).check(declared)
    assert caught.value.hint == "declared inputs by policy: p: licenses"
    with pytest.raises(InvalidInput, match="attaches no policy called 'r'"):
        RuntimeInputs((RuntimeInput("severity", "x", "r"),)).check(declared)


# -- evaluation ----------------------------------------------------------------------------
CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: c}
spec:
  materials:
    - {type: SBOM_CYCLONEDX_JSON, name: sbom}
  policies:
    materials:
      - ref: sbom-banned-licenses
        with: {licenses: AGPL-3.0-only}
      - embedded:
          apiVersion: chainloop.dev/v1
          kind: Policy
          metadata: {name: needs-level}
          spec:
            inputs:
              - {name: level, required: true}
            policies:
              - kind: SBOM_CYCLONEDX_JSON
                embedded: |
                  package needs_level
                  import rego.v1
                  violations contains concat("", ["level ", input.args.level]) if true
"""
SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "components": [
        {"type": "library", "name": "urllib3", "licenses": [{"license": {"id": "MIT"}}]}
    ],
}


def _verifier(engine: RegoEngine, *items: RuntimeInput) -> PolicyVerifier:
    return PolicyVerifier.for_contract(
        Contract.parse(CONTRACT, source="c.yaml"),
        engine=engine,
        runtime_inputs=RuntimeInputs(items),
    )


def _messages(engine: RegoEngine, tmp_path: Path, *items: RuntimeInput) -> dict[str, list[str]]:
    path = tmp_path / "sbom.cdx.json"
    path.write_text(json.dumps(SBOM), encoding="utf-8")
    found = _verifier(engine, *items).verify_material(craft("sbom", str(path), None))
    return {e.name: [v.message for v in e.violations] for e in found}


def test_a_required_input_may_come_from_the_command_line(engine: RegoEngine) -> None:
    with pytest.raises(PolicyError, match="missing required input 'level'"):
        _verifier(engine).check_arguments()
    _verifier(engine, RuntimeInput("level", "HIGH")).check_arguments()


def test_runtime_values_replace_the_contract_values(engine: RegoEngine, tmp_path: Path) -> None:
    found = _messages(
        engine,
        tmp_path,
        RuntimeInput("level", "LOW"),
        RuntimeInput("licenses", "MIT", "sbom-banned-licenses"),
        RuntimeInput("level", "HIGH", "needs-level"),
    )
    assert found["needs-level"] == ["level HIGH"]
    assert len(found["sbom-banned-licenses"]) == 1 and "MIT" in found["sbom-banned-licenses"][0]


def test_a_value_scoped_to_another_policy_changes_nothing(
    engine: RegoEngine, tmp_path: Path
) -> None:
    found = _messages(
        engine,
        tmp_path,
        RuntimeInput("level", "LOW"),
        RuntimeInput("licenses", "MIT", "needs-level-typo"),
    )
    assert found == {"sbom-banned-licenses": [], "needs-level": ["level LOW"]}


def test_check_arguments_refuses_unknown_inputs(engine: RegoEngine) -> None:
    v = _verifier(engine, RuntimeInput("level", "x"), RuntimeInput("licence", "MIT"))
    with pytest.raises(InvalidInput, match="'licence': no policy of the contract declares it"):
        v.check_arguments()


# -- Chainloop's --policy-input-from-file [POLICY:]NAME=FILE[:COLUMN] ----------------------
def test_a_csv_column_is_appended_to_the_contracts_value(tmp_path: Path) -> None:
    table = tmp_path / "exempt.csv"
    table.write_text("\ufeffPath,Owner\nC:\\tools\\a.exe,ops\n,ops\nb.dll,dev\n")
    [item] = parse_input_file_option(f"sigcheck:ignored_paths={table}:path")
    assert (item.policy, item.name, item.append) == ("sigcheck", "ignored_paths", True)
    assert item.value == "C:\\tools\\a.exe\nb.dll"  # blank values dropped
    given = {"ignored_paths": "c.sys", "other": "x"}
    applied = RuntimeInputs((item,)).apply("sigcheck", None, given, {"ignored_paths"})
    assert applied == {"ignored_paths": "c.sys\nC:\\tools\\a.exe\nb.dll", "other": "x"}
    replaced = RuntimeInputs((RuntimeInput("ignored_paths", "only"), item))
    assert replaced.apply("sigcheck", None, given, {"ignored_paths"})["ignored_paths"] == "only"


@pytest.mark.parametrize(
    "document",
    [
        '["a", "b", " "]',
        '[{"ignored_paths": "a"}, {"IGNORED_PATHS": "b"}, {"x": "c"}]',
        '{"Ignored_Paths": ["a", "b"], "other": 3}',
    ],
)
def test_the_three_json_shapes_give_the_column(tmp_path: Path, document: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(document)
    [item] = parse_input_file_option(f"ignored_paths={path}")  # column: the input's name
    assert item.value == "a\nb" and item.policy is None


def test_a_windows_drive_letter_is_not_a_column(tmp_path: Path) -> None:
    key, path, column = split_spec("names=C:\\data\\list.csv")
    assert (key, str(path), column) == ("names", "C:\\data\\list.csv", None)


@pytest.mark.parametrize(
    ("content", "spec", "message"),
    [
        ("a,b\n1,2\n", "names={path}:c", "no column 'c'"),
        ('{"x": ["a"]}', "names={path}", "no key 'names'"),
        ('{"names": "a"}', "names={path}", "not an array of strings"),
        ("names\n \n", "names={path}", "holds no values"),
        ("names\na\n", "=", "missing input or file"),
    ],
)
def test_malformed_column_inputs_are_refused(
    tmp_path: Path, content: str, spec: str, message: str
) -> None:
    path = tmp_path / ("f.json" if content.startswith("{") else "f.csv")
    path.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        parse_input_file_option(spec.format(path=path))


def test_an_appended_value_keeps_its_mode_through_the_predicate() -> None:
    item = RuntimeInput("ignored_paths", "a\nb", "sigcheck", append=True)
    assert item.to_dict()["mode"] == "append"
    assert RuntimeInputs.from_list([item.to_dict()]).items == (item,)
    with pytest.raises(InvalidInput, match="unknown mode"):
        RuntimeInput.from_dict({"name": "n", "value": "v", "mode": "merge"})
