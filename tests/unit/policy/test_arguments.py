"""``with:`` argument rules, as Chainloop's ComputeArguments and getInputArguments."""

from __future__ import annotations

import pytest

from chainproof.errors import PolicyError
from chainproof.policy.arguments import (
    apply_bindings,
    compute_arguments,
    input_arguments,
    split_value,
)
from chainproof.policy.document import PolicyInput


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MIT", "MIT"),
        ("  MIT  ", "MIT"),
        ("MIT,Apache-2.0", ["MIT", "Apache-2.0"]),
        ("MIT, Apache-2.0 ,BSD-3-Clause", ["MIT", "Apache-2.0", "BSD-3-Clause"]),
        (",a,,b,", ["a", "b"]),  # empty parts are dropped
        ("a\\,b,c", ["a,b", "c"]),  # \, is a literal comma
        ("a\\,b\\,c", "a,b,c"),
        ("\\d+,\\s+", ["\\d+", "\\s+"]),  # other backslashes pass through (regexes)
        ("a\nb", ["a", "b"]),  # one value per line
        ("a, b\nc", ["a, b", "c"]),  # several lines: no comma splitting
        ("a\n\n  b  \n", ["a", "b"]),
        ("one line\n", "one line"),  # a trailing newline is not a second value
        ("", None),
        ("   ", None),
        (" , ,", None),
        ("\n\n", None),
    ],
)
def test_split_value(value: str, expected: object) -> None:
    assert split_value(value) == expected


def test_input_arguments_drop_blank_values() -> None:
    assert input_arguments({"a": "x", "b": " ", "c": "1,2"}) == {"a": "x", "c": ["1", "2"]}


INPUTS = (
    PolicyInput("licenses", required=True),
    PolicyInput("max_age", default="30"),
    PolicyInput("note"),
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"licenses": "MIT"}, {"licenses": "MIT", "max_age": "30"}),
        ({"licenses": "MIT", "max_age": "7"}, {"licenses": "MIT", "max_age": "7"}),
        ({"licenses": "MIT", "note": "hi"}, {"licenses": "MIT", "max_age": "30", "note": "hi"}),
        # as Chainloop: an argument given for a declared input wins, even when empty
        ({"licenses": "MIT", "max_age": ""}, {"licenses": "MIT", "max_age": ""}),
    ],
)
def test_compute_arguments(given: dict[str, str], expected: dict[str, str]) -> None:
    assert compute_arguments("p", INPUTS, given) == expected


@pytest.mark.parametrize("given", [{}, {"licenses": ""}, {"max_age": "3"}])
def test_a_required_input_without_value_is_an_error(given: dict[str, str]) -> None:
    with pytest.raises(PolicyError, match="policy p: missing required input 'licenses'") as err:
        compute_arguments("p", INPUTS, given)
    assert err.value.details == {"policy": "p", "input": "licenses"}


def test_undeclared_arguments_are_dropped_with_a_warning() -> None:
    warnings: list[str] = []
    got = compute_arguments("p", INPUTS, {"licenses": "MIT", "typo": "x"}, warn=warnings.append)
    assert "typo" not in got
    assert warnings == ["argument 'typo' is not an input of policy p; ignoring it"]


def test_a_policy_without_inputs_gets_every_argument_as_written() -> None:
    warnings: list[str] = []
    got = compute_arguments(
        "p", (), {"a": "{{ inputs.x }}"}, bindings={"x": "1"}, warn=warnings.append
    )
    assert got == {"a": "{{ inputs.x }}"}
    assert warnings == ["policy p declares no inputs; passing argument 'a' as given"]


def test_required_and_default_is_an_error() -> None:
    with pytest.raises(PolicyError, match="cannot be required and have a default"):
        compute_arguments("p", (PolicyInput("x", required=True, default="1"),), {"x": "2"})


@pytest.mark.parametrize(
    ("value", "bindings", "expected"),
    [
        ("{{ inputs.a }}", {"a": "1"}, "1"),
        ("{{inputs.a}}-{{ .inputs.b }}", {"a": "1", "b": "2"}, "1-2"),
        ("{{ inputs.missing }}", {"a": "1"}, ""),  # Go's missingkey=zero
        ("{{ inputs.a }}", None, "{{ inputs.a }}"),  # outside a group: as written
        ("plain", {"a": "1"}, "plain"),
    ],
)
def test_apply_bindings(value: str, bindings: dict[str, str] | None, expected: str) -> None:
    assert apply_bindings(value, bindings) == expected


def test_group_bindings_fill_values_and_defaults() -> None:
    inputs = (PolicyInput("licenses", required=True), PolicyInput("days", default="{{ inputs.d }}"))
    got = compute_arguments(
        "p", inputs, {"licenses": "{{ inputs.banned }}"}, bindings={"banned": "GPL", "d": "9"}
    )
    assert got == {"licenses": "GPL", "days": "9"}
    with pytest.raises(PolicyError, match="missing required input"):
        # a placeholder that binds to nothing leaves a required input empty
        compute_arguments("p", inputs, {"licenses": "{{ inputs.none }}"}, bindings={})
