"""The engine's limits: a pool of workers so that one slow policy delays nobody else, the
memory limit, and the built-ins refused by the interpreter's own view of a policy."""

from __future__ import annotations

import threading
import time

import pytest

from chainproof.errors import PolicyError, PolicyEvaluationError
from chainproof.policy import RegoEngine, prepare
from chainproof.policy.document import PolicyScript
from chainproof.policy.engine import PreparedScript
from chainproof.policy.rego import check_source

# Much work in few statements (~30 s), so only the time limit stops it, not rego-cpp's own
# statement limit (see LOOP).
SLOW = (
    "package slow\n\nimport rego.v1\n\n"
    'violations contains "never" if {\n'
    "\tsome i in numbers.range(1, 1000)\n\tcount(numbers.range(i, i + 100000)) < 0\n}\n"
)
# A million cheap statements: rego-cpp stops it itself after a few seconds.
LOOP = (
    "package loop\n\nimport rego.v1\n\n"
    'violations contains "never" if {\n'
    "\tsome i in numbers.range(1, 100)\n\tsome j in numbers.range(1, 100)\n"
    "\tsome k in numbers.range(1, 100)\n\ti * j * k < 0\n}\n"
)
TRIVIAL = 'package quick\n\nimport rego.v1\n\nviolations contains "no" if input.org == "b"\n'
# The call hides from a line-by-line reader: the second line closes one raw string and opens
# another, so `opa.runtime()` sits between two backticks on one line.
HIDDEN = (
    "package hidden\n\nimport rego.v1\n\n"
    "s := `a\nb` ; t := opa.runtime() ; u := `c\n`\n\n"
    "violations contains k if some k in object.keys(t.env)\n"
)


def script(source: str, name: str) -> PreparedScript:
    return prepare(PolicyScript(kind=None, source=source, origin=f"{name}.rego"), name)


def test_a_stuck_policy_in_one_org_delays_nobody_else() -> None:
    slow, quick = script(SLOW, "slow"), script(TRIVIAL, "quick")
    finished: dict[str, float] = {}
    errors: list[BaseException] = []
    with RegoEngine(timeout=4.0, workers=2) as engine:
        engine.evaluate(quick, {"org": "a"})  # both workers' start-up out of the way
        start = time.monotonic()

        def org_a() -> None:
            try:
                engine.evaluate(slow, {"org": "a"})
            except PolicyEvaluationError as err:
                errors.append(err)
            finished["slow"] = time.monotonic() - start

        thread = threading.Thread(target=org_a)
        thread.start()
        time.sleep(0.5)  # org a's evaluation is running in its worker
        result = engine.evaluate(quick, {"org": "b"})
        finished["quick"] = time.monotonic() - start
        thread.join()
    assert [v.message for v in result.violations] == ["no"]
    assert [getattr(e, "details", {}).get("reason") for e in errors] == ["timeout"]
    # org b's answer came while org a's policy was still running, not after it was stopped.
    assert finished["quick"] < finished["slow"]
    assert finished["quick"] < finished["slow"] / 2


def test_a_policy_past_the_interpreters_statement_limit_is_reported_as_a_loop() -> None:
    with RegoEngine(timeout=120.0, workers=1) as engine:
        with pytest.raises(PolicyEvaluationError) as err:
            engine.evaluate(script(LOOP, "loop"), {})
        assert err.value.details == {"policy": "loop", "reason": "timeout"}
        assert err.value.message == (
            "policy loop ran past the Rego interpreter's statement limit and was stopped "
            "(Maximum statement count reached)"
        )
        assert "must not loop over large products" in str(err.value.hint)
        # the worker is still sound: the next evaluation uses it
        assert engine.evaluate(script(TRIVIAL, "quick"), {"org": "b"}).violations


def test_a_policy_past_the_memory_limit_is_stopped_and_the_worker_replaced() -> None:
    greedy = script(
        "package greedy\n\nimport rego.v1\n\n"
        'violations contains sprintf("%d", [count(numbers.range(1, 20000000))]) if true\n',
        "greedy",
    )
    with RegoEngine(timeout=60.0, workers=1, memory_mb=120) as engine:
        with pytest.raises(PolicyEvaluationError) as err:
            engine.evaluate(greedy, {})
        assert err.value.details == {"policy": "greedy", "reason": "memory"}
        assert "exceeded the memory limit of 120 MB" in err.value.message
        # the next evaluation gets a fresh worker
        assert engine.evaluate(script(TRIVIAL, "quick"), {"org": "b"}).violations


def test_a_forbidden_call_hidden_from_the_source_check_is_refused_at_evaluation() -> None:
    with RegoEngine(timeout=10.0) as engine:
        # evaluation is the enforcement point: a script that never went through the source
        # check (built by hand here) is refused by the worker before it runs
        hidden = PreparedScript(
            "hidden", "hidden", (("policy.rego", HIDDEN),), "hidden.rego", 0, key="h"
        )
        with pytest.raises(PolicyError, match=r"hidden\.rego: opa\.runtime\(\) exposes"):
            engine.evaluate(hidden, {})
        # built by hand, past the source check: the worker still refuses it before it runs
        source = (
            'package net\n\nimport rego.v1\n\nr := http.send({"method": "get", '
            '"url": "http://127.0.0.1:9"})\n\nviolations contains "x" if r\n'
        )
        sender = PreparedScript("net", "net", (("policy.rego", source),), "net.rego", 0, key="n")
        with pytest.raises(
            PolicyError, match=r"net\.rego: http\.send\(\) is off: no host is allow-listed"
        ):
            engine.evaluate(sender, {})


def test_the_source_check_reads_raw_strings_across_lines() -> None:
    issues = check_source(HIDDEN)
    assert [(i.line, i.message.split()[0]) for i in issues] == [(6, "opa.runtime()")]
    with pytest.raises(PolicyError, match=r"hidden\.rego:6:11: opa\.runtime\(\) exposes"):
        script(HIDDEN, "hidden")
    # a quote in a comment starts no string
    assert check_source("package p\n# don't `\nx := opa.runtime()\n# `\n")
