"""The Rego engine: results, the older `violations` form, errors with file and line, and the
time limit that stops a policy that runs too long."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.errors import PolicyError, PolicyEvaluationError
from chainproof.policy import Policy, PolicyLoader, PolicyVerifier, RegoEngine, prepare
from chainproof.policy.document import PolicyScript
from chainproof.policy.engine import PreparedScript, canonical
from chainproof.policy.rego import boilerplate, check_source, input_keys, package_of

USER = Path(__file__).resolve().parents[2] / "assets" / "policies" / "user"


@pytest.fixture(scope="module")
def engine() -> Iterator[RegoEngine]:
    with RegoEngine(timeout=10) as engine:
        yield engine


def load(name: str) -> Policy:
    policy = PolicyLoader(base_dir=USER).file(USER / name)
    assert isinstance(policy, Policy)
    return policy


def script(policy: Policy, index: int = 0) -> PreparedScript:
    return prepare(policy.scripts[index], policy.name)


def test_violations_only_policy_gets_chainloops_boilerplate(engine: RegoEngine) -> None:
    prepared = script(load("multi-kind.yaml"))
    assert [name for name, _ in prepared.modules] == ["policy.rego", "boilerplate.rego"]
    result = engine.evaluate(prepared, {"bomFormat": "CycloneDX"}, {"min": "2"})
    assert [v.message for v in result.violations] == ["fewer than 2 components"]
    assert not result.skipped
    skipped = engine.evaluate(prepared, {"other": True}, {"min": "2"})
    assert skipped.skipped and skipped.skip_reason == "the file content is not recognized"


def test_the_older_violations_rule_is_read_when_result_is_undefined(engine: RegoEngine) -> None:
    result = engine.evaluate(script(load("legacy.yaml")), {"name": "x"})
    assert [v.message for v in result.violations] == ["legacy rule says no"]
    assert [v.subject for v in result.violations] == ["legacy-form"]


def test_a_full_result_object_with_ignore(engine: RegoEngine) -> None:
    prepared = script(load("full-result.yaml"))
    assert "result :=" not in prepared.modules[1][1]  # its own result is kept
    result = engine.evaluate(prepared, {"name": "a"})
    assert [v.message for v in result.violations] == ["name is a"] and not result.ignore
    assert engine.evaluate(prepared, {"name": "a", "ignore_me": True}).ignore


def test_rego_syntax_error_names_the_yaml_file_and_line(engine: RegoEngine) -> None:
    with pytest.raises(PolicyError) as err:
        engine.evaluate(script(load("syntax-error.yaml")), {})
    # `input.a ==` is line 6 of the script, which starts on line 9 of the YAML file
    assert err.value.message.startswith(f"{USER / 'syntax-error.yaml'}:14:")
    assert err.value.details["line"] == 14
    assert err.value.exit_code == 2


def test_rego_syntax_error_in_a_referenced_file_names_that_file(engine: RegoEngine) -> None:
    with pytest.raises(PolicyError) as err:
        engine.evaluate(script(load("syntax-error-path.yaml")), {})
    assert err.value.message.startswith(f"{USER / 'syntax-error.rego'}:")
    assert err.value.details["line"] in (7, 8)


def test_v0_syntax_is_refused_before_it_can_pass_silently() -> None:
    with pytest.raises(PolicyError) as err:
        script(load("v0-syntax.yaml"))
    assert f"{USER / 'v0-syntax.yaml'}:11:1: Rego v0 rule syntax" in err.value.message
    assert "write `violations contains ... if {`" in err.value.message


def test_opa_runtime_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"runtime.yaml:13:\d+: opa.runtime\(\) exposes"):
        script(load("runtime.yaml"))


def test_a_policy_that_runs_too_long_is_stopped_and_reported() -> None:
    with RegoEngine(timeout=1.0) as engine:
        prepared = script(load("slow.yaml"))
        start = time.monotonic()
        with pytest.raises(PolicyEvaluationError) as err:
            engine.evaluate(prepared, {"n": 1})
        assert time.monotonic() - start < 5
        assert err.value.details == {"policy": "slow", "reason": "timeout"}
        assert "did not finish within 1 s and was stopped" in err.value.message
        assert err.value.exit_code == 1
        # the worker was killed; the next evaluation gets a fresh one
        result = engine.evaluate(script(load("legacy.yaml")), {"name": "x"})
        assert result.violations


def test_runtime_errors_and_bad_result_shapes(engine: RegoEngine) -> None:
    def run(source: str) -> None:
        engine.evaluate(prepare(PolicyScript(kind=None, source=source, origin="t.rego"), "t"), {})

    with pytest.raises(PolicyEvaluationError, match=r"Function not found: foo\.bar"):
        run("package t\n\nimport rego.v1\n\nresult := foo.bar(1)\n")
    with pytest.raises(PolicyEvaluationError, match="`result` must be an object") as err:
        run("package t\n\nimport rego.v1\n\nresult := 3\n")
    assert err.value.details["reason"] == "format"
    with pytest.raises(PolicyEvaluationError, match=r"`result\.violations` must be a list"):
        run('package t\n\nimport rego.v1\n\nresult := {"violations": "x"}\n')
    with pytest.raises(PolicyError, match="must start with a package"):
        run("x := 1\n")


def test_structured_violations_keep_their_message(engine: RegoEngine) -> None:
    source = (
        "package t\n\nimport rego.v1\n\n"
        'violations contains {"message": "CVE-1 in x", "severity": "high"} if true\n'
    )
    prepared = prepare(PolicyScript(kind=None, source=source, origin="t.rego"), "t")
    assert [v.message for v in engine.evaluate(prepared, {}).violations] == ["CVE-1 in x"]


def test_one_material_many_policies_share_the_input(engine: RegoEngine) -> None:
    cdx = script(load("multi-kind.yaml"))
    legacy = script(load("legacy.yaml"))
    material = {"bomFormat": "CycloneDX", "components": [{"name": "a"}], "name": "b"}
    assert not engine.evaluate(cdx, material, {"min": "1"}).violations
    assert engine.evaluate(legacy, material).violations
    assert engine.evaluate(cdx, material, {"min": "5"}).violations


def test_the_worker_refuses_opa_runtime_even_past_the_source_check(
    engine: RegoEngine,
) -> None:
    # A script built by hand skips check_source: the worker, reading rego-cpp's compiled plan,
    # still refuses it before it runs (and its environment is empty anyway).
    source = (
        "package leak\n\nimport rego.v1\n\n"
        "violations := [k | some k in object.keys(opa.runtime().env)]\n"
    )
    prepared = PreparedScript(
        "leak", "leak", (("policy.rego", source),), "leak.rego", 0, key="leak-test"
    )
    with pytest.raises(PolicyError, match=r"leak\.rego: opa\.runtime\(\) exposes"):
        engine.evaluate(prepared, {})


def test_verifier_merges_the_scripts_of_a_kind(engine: RegoEngine) -> None:
    policy = load("multi-kind.yaml")
    verifier = PolicyVerifier(engine=engine)
    spdx = {"spdxVersion": "SPDX-2.3", "packages": []}
    evaluation = verifier.evaluate(policy, "SBOM_SPDX_JSON", spdx)
    assert evaluation is not None
    assert [v.message for v in evaluation.violations] == ["fewer than 1 packages"]
    assert evaluation.args == {"min": "1"}
    assert verifier.evaluate(policy, "SARIF", {}) is None  # no script for the kind


def test_source_helpers() -> None:
    assert package_of("# c\npackage a.b_c\n\nimport rego.v1\n") == "a.b_c"
    assert package_of("import rego.v1\n") is None
    issues = check_source(
        "package p\n\nimport rego.v1\n\nallow {\n\ttrue\n}\n\n"
        'deny[msg] {\n\tmsg := "x"\n}\n\nresult := {\n\t"a": http.send({})\n}\n'
    )
    assert [(i.line, i.message.split(":")[0]) for i in issues] == [
        (5, "Rego v0 rule syntax (chainproof evaluates Rego v1)"),
        (9, "Rego v0 rule syntax (chainproof evaluates Rego v1)"),
    ]  # http.send is judged at evaluation, against the evaluation's allowed hosts
    # strings and comments do not count
    assert not check_source('package p\n# allow {\nx := "deny[m] { opa.runtime() }"\n')
    extra = boilerplate("package p\n\nimport rego.v1\n\nviolations contains 1 if true\n")
    assert extra is not None and "default violations" not in extra
    assert "result := {" in extra and "default valid_input := true" in extra


def _inline(source: str, name: str = "inline") -> PreparedScript:
    return prepare(PolicyScript(None, source, "inline.rego", None), name)


def test_input_keys_follow_literal_references_only() -> None:
    source = (
        "package p\n\nimport rego.v1\n\n"
        "# input.commented does not count, nor does the string below\n"
        'note := "input.quoted"\n'
        'a := input.alpha[0].x\nb := input["beta gamma"]\nc := object.get(input, "delta", [])\n'
        "d := x.input.not_a_key\nraw := `input.raw`\n"
    )
    assert input_keys([source]) == {"alpha", "beta gamma", "delta"}
    for whole in ("x := input[k]", "walk(input, [p, v])", "n := count(input)", "import input"):
        assert input_keys([f"package p\n{whole}\n"]) is None, whole
    assert input_keys(["package p\nx := y with input as {}\n"]) is None


def test_a_policy_sees_the_keys_it_reads_and_nothing_is_lost(engine: RegoEngine) -> None:
    narrow = _inline(
        "package narrow\n\nimport rego.v1\n\n"
        'violations contains concat(" ", ["has", input.wanted.name, input.args.tag]) if '
        "input.wanted\n"
    )
    whole = _inline(
        "package whole\n\nimport rego.v1\n\n"
        'violations contains concat(",", sort(object.keys(input))) if true\n'
    )
    assert narrow.reads == {"wanted", "args"} and whole.reads is None
    material = {"wanted": {"name": "w"}, "big": [{"n": i} for i in range(500)], "other": 1}
    text = canonical(material)
    got = engine.evaluate(narrow, material, {"tag": "t"}, material_json=text)
    assert [v.message for v in got.violations] == ["has w t"]
    sent = list(engine._projections.values())  # what went to the interpreter instead
    assert sent and all('"big"' not in t and '"other"' not in t for t in sent)
    # a script that reads the whole input still gets all of it, after the narrow one
    got = engine.evaluate(whole, material, material_json=text)
    assert [v.message for v in got.violations] == ["args,big,other,wanted"]
    # an absent key stays absent (undefined), as without the projection
    assert not engine.evaluate(narrow, {"other": 1}, {"tag": "t"}).violations


@pytest.mark.parametrize(
    "text",
    ['say "hi"', "C:\\temp\\new", "^[0-9]+\\.[0-9]+$", "tab\there", "line\nbreak", "é \\u00e9"],
)
def test_strings_reach_the_policy_as_they_are(engine: RegoEngine, text: str) -> None:
    """Quotes, backslashes and control characters in the material and the arguments are
    neither unescaped nor refused on their way into rego-cpp."""
    source = (
        "package t\n\nimport rego.v1\n\n"
        'violations contains concat("|", [input.text, input.args.arg, k]) if {\n'
        "\tsome k, _ in input.keyed\n"
        "\tinput.text == input.args.arg\n"
        "}\n"
    )
    prepared = prepare(PolicyScript(kind=None, source=source, origin="t.rego"), "t")
    result = engine.evaluate(prepared, {"text": text, "keyed": {text: 1}}, {"arg": text})
    assert [v.message for v in result.violations] == [f"{text}|{text}|{text}"]
