"""Rego source checks done before the interpreter sees a script, and the boilerplate it gets.

The interpreter is rego-cpp (through regopy), which reads Rego v1 only. Chainloop's engine (OPA)
still reads Rego v0 in modules without ``import rego.v1``, and one v0 form silently means
something else in v1: ``deny[msg] { ... }`` is a partial *set* in v0 but, in v1, an object
mapping each ``msg`` to true, so a v0 policy would pass with no violation. :func:`check_source`
therefore refuses rule bodies without ``if`` (the v0 forms) with the line to fix, instead of
letting such a policy pass. It also refuses built-ins Chainloop's restrictive mode removes
(``opa.runtime``: the process environment; ``trace``, ``rego.parse_module``), so a policy fails
at lint time rather than at evaluation. ``http.send`` is refused only at evaluation, when no
host is allow-listed (:data:`NETWORK`; the allow-list is the evaluation's, not the script's).

:func:`boilerplate` is Chainloop's rule injection (``pkg/policies/engine/rego/boilerplate.go``):
a policy may define only ``violations`` (and ``valid_input``); the missing ``result``,
``skipped``, ``skip_reason``, ``ignore``, ``valid_input`` and ``violations`` rules are added
as a second module of the same package, so the author's line numbers stay as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "FORBIDDEN",
    "NETWORK",
    "RegoIssue",
    "boilerplate",
    "check_source",
    "input_keys",
    "package_of",
    "rule_names",
]

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`')
_LEXEME = re.compile(rf"{_STRING.pattern}|#[^\n]*")
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*$")
# A top-level rule whose body starts without `if`: `name {` or `name[x] {` (`p := {` is an
# object literal, not a body, so assignments are left alone).
_V0_RULE = re.compile(r"^(?!(?:package|import|default|else)\b)[A-Za-z_]\w*(?:\[[^\]]*\])?\s*\{")
_V0_PARTIAL = re.compile(r"^(?P<name>[A-Za-z_]\w*)\[[^\]]*\]\s*\{")
_RULE_HEAD = re.compile(r"^(default\s+)?([A-Za-z_]\w*)\b")
FORBIDDEN = {
    "opa.runtime": "opa.runtime() exposes the process environment; it is not allowed",
    "trace": "trace() is not allowed in policies",
    "rego.parse_module": "rego.parse_module() is not allowed in policies",
    "http.send": "http.send() is off: no host is allow-listed for policies (an organisation's "
    "policy_allowed_hostnames, or --allowed-hostnames)",
}
NETWORK = "http.send"
"""The built-in allowed only towards allow-listed hosts (:mod:`chainproof.policy._worker`)."""
_ALWAYS = [n for n in FORBIDDEN if n != NETWORK]
_CALL = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in _ALWAYS) + r")\s*\(")
_BOILERPLATE_RULES = ("result", "skip_reason", "valid_input", "skipped", "ignore", "violations")


@dataclass(frozen=True)
class RegoIssue:
    """A problem at ``line`` (1-based, in the script) and ``column`` (1-based)."""

    line: int
    column: int
    message: str


def _code_lines(source: str) -> list[str]:
    """The script's lines with strings blanked and comments removed (same lines and columns).

    Read left to right over the whole script, as a lexer does: a raw string may span lines,
    and a quote inside a comment starts no string.
    """

    def blank(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("#"):
            return ""
        return text[0] + re.sub(r"[^\n]", " ", text[1:-1]) + text[-1]

    return [line.rstrip() for line in _LEXEME.sub(blank, source).splitlines()]


def package_of(source: str) -> str | None:
    """The script's package path (``a.b``), or None when it has no package line."""
    for line in _code_lines(source):
        match = _PACKAGE.match(line)
        if match:
            return match.group(1)
        if line.strip():
            return None
    return None


def rule_names(source: str) -> tuple[set[str], set[str]]:
    """(rules defined at column 0, rules with a ``default``) in the script."""
    rules: set[str] = set()
    defaults: set[str] = set()
    for line in _code_lines(source):
        match = _RULE_HEAD.match(line)
        if match and match.group(2) not in ("package", "import"):
            rules.add(match.group(2))
            if match.group(1):
                defaults.add(match.group(2))
    return rules, defaults


def check_source(source: str) -> list[RegoIssue]:
    """Problems the interpreter would not report, or would report too late; [] when none."""
    issues: list[RegoIssue] = []
    lines = _code_lines(source)
    if package_of(source) is None:
        first = next((i for i, line in enumerate(lines) if line.strip()), 0)
        issues.append(RegoIssue(first + 1, 1, "a policy must start with a package declaration"))
    for number, line in enumerate(lines, start=1):
        match = _V0_RULE.match(line)
        if match:
            partial = _V0_PARTIAL.match(line)
            fix = (
                f"write `{partial.group('name')} contains ... if {{`"
                if partial
                else "add `if` before the rule body"
            )
            issues.append(
                RegoIssue(number, 1, f"Rego v0 rule syntax (chainproof evaluates Rego v1): {fix}")
            )
        for call in _CALL.finditer(line):
            issues.append(RegoIssue(number, call.start(1) + 1, FORBIDDEN[call.group(1)]))
    return issues


_TEMPLATES = {
    "result": 'result := {\n\t"skipped": skipped,\n\t"violations": violations,\n'
    '\t"skip_reason": skip_reason,\n\t"ignore": ignore,\n}\n',
    "skip_reason": 'default skip_reason := ""\n\nskip_reason := m if {\n\tnot valid_input\n'
    '\tm := "the file content is not recognized"\n}\n',
    "valid_input": "default valid_input := true\n",
    "skipped": "default skipped := true\n\nskipped := false if valid_input\n",
    "ignore": "default ignore := false\n",
    "violations": "default violations := []\n",
}


def boilerplate(source: str) -> str | None:
    """A module of the script's package defining the rules Chainloop injects that the script
    lacks; None when it defines them all (or has no package)."""
    package = package_of(source)
    if package is None:
        return None
    rules, _ = rule_names(source)
    missing = [name for name in _BOILERPLATE_RULES if name not in rules]
    if not missing:
        return None
    body = "\n".join(_TEMPLATES[name] for name in missing)
    return f"package {package}\n\nimport rego.v1\n\n{body}"


# Rego tokens, enough to follow references: strings (escaped or raw), comments, names, and
# any other single character.
_TOKEN = re.compile(
    rf"(?P<str>{_STRING.pattern})|(?P<comment>#[^\n]*)"
    r"|(?P<name>[A-Za-z_]\w*)|(?P<space>\s+)|(?P<other>.)"
)


def _tokens(source: str) -> list[tuple[str, str]]:
    """(kind, text) of each significant token: comments and spaces dropped, strings decoded."""
    out = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "other"
        text = match.group()
        if kind in ("comment", "space"):
            continue
        if kind == "str" and text.startswith("`"):
            text = text[1:-1]  # a raw string
        elif kind == "str":
            try:
                text = json.loads(text)
            except ValueError:
                kind = "other"  # not a string JSON reads: let it count as an unknown use
        out.append((kind, text))
    return out


def input_keys(sources: Iterable[str]) -> frozenset[str] | None:
    """The top-level keys of ``input`` that Rego ``sources`` can read, or None for all.

    A key counts when ``input`` is followed by ``.key`` or ``["key"]``, or is the first
    argument of ``object.get(input, "key", ...)``; any other use (``input`` alone, a
    computed key, ``walk(input)``, ``with input as``) means the whole input. The engine
    hands a policy only these keys, so a policy reading two fields of a large SBOM does not
    pay for the rest (rego-cpp builds its input node by node).
    """
    keys: set[str] = set()
    for source in sources:
        tokens = _tokens(source)
        for i, (kind, text) in enumerate(tokens):
            if kind != "name" or text != "input":
                continue
            if i > 0 and tokens[i - 1] == ("other", "."):
                continue  # a field named input (x.input), not the input document
            after = tokens[i + 1 : i + 4]
            if len(after) >= 2 and after[0] == ("other", ".") and after[1][0] == "name":
                keys.add(after[1][1])
            elif (
                len(after) == 3
                and after[0] == ("other", "[")
                and after[1][0] == "str"
                and after[2] == ("other", "]")
            ):
                keys.add(after[1][1])
            elif (
                i >= 4
                and [t for _, t in tokens[i - 4 : i]] == ["object", ".", "get", "("]
                and len(after) >= 2
                and after[0] == ("other", ",")
                and after[1][0] == "str"
            ):
                keys.add(after[1][1])
            else:
                return None
    return frozenset(keys)
