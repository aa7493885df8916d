"""``with:`` arguments: which values a policy gets, and how they reach Rego as ``input.args``.

The rules are Chainloop's (``pkg/policies/policies.go``: ``ComputeArguments`` and
``getInputArguments``), so that contracts written for Chainloop bind the same values:

1. :func:`compute_arguments` matches the attachment's ``with`` map against the policy's
   declared ``spec.inputs``. Values are strings. A declared input that is required and has no
   value (absent or empty) is an error; an optional one without a value takes its ``default``.
   An argument the policy does not declare is dropped with a warning. A policy that declares
   no inputs at all gets every argument unchanged (Chainloop's legacy behaviour, also with a
   warning per argument). Values may use ``{{ inputs.NAME }}`` to refer to the arguments of
   the policy group they come from (:func:`apply_bindings`).
2. :func:`input_arguments` turns each string into what the Rego sees: a value with several
   non-blank lines is a list of its trimmed lines; a one-line value is split on commas, where
   ``\\,`` is a literal comma, and each part trimmed. One part gives a string, several a list;
   a value that is blank after trimming is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from chainproof.errors import PolicyError

if TYPE_CHECKING:
    from chainproof.policy.document import PolicyInput

__all__ = ["ArgValue", "apply_bindings", "compute_arguments", "input_arguments", "split_value"]

ArgValue = str | list[str]
"""What one argument is in ``input.args``: a string, or a list of strings."""

_ESCAPED_COMMA = "\x00"  # cannot occur in YAML text, so it cannot collide with user input
_BINDING = re.compile(r"\{\{\s*\.?inputs\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


def _lines(values: Iterable[str]) -> list[str]:
    return [text for text in (v.strip() for v in values) if text]


def split_value(value: str) -> ArgValue | None:
    """One ``with:`` value as Rego sees it: a string, a list, or None when it is blank.

    ``"a\\nb"`` → ``["a", "b"]`` (each line trimmed, blank lines dropped, no comma splitting);
    ``"a, b"`` → ``["a", "b"]``; ``"a\\,b"`` → ``"a,b"``; ``"  "`` → None.
    """
    lines = _lines(value.rstrip("\n").split("\n"))
    if not lines:
        return None
    if len(lines) > 1:
        return lines
    parts = _lines(
        part.replace(_ESCAPED_COMMA, ",")
        for part in lines[0].replace("\\,", _ESCAPED_COMMA).split(",")
    )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts


def input_arguments(args: Mapping[str, str]) -> dict[str, ArgValue]:
    """``input.args`` for computed arguments (see :func:`split_value`); blank values omitted."""
    out: dict[str, ArgValue] = {}
    for name, value in args.items():
        split = split_value(value)
        if split is not None:
            out[name] = split
    return out


def apply_bindings(value: str, bindings: Mapping[str, str] | None) -> str:
    """``value`` with each ``{{ inputs.NAME }}`` (or ``{{ .inputs.NAME }}``) replaced by the
    group argument NAME; an unknown NAME becomes the empty string (Go's ``missingkey=zero``).
    Without bindings (a policy attached outside a group) the value is returned unchanged."""
    if bindings is None or not value:
        return value
    return _BINDING.sub(lambda m: bindings.get(m.group(1), ""), value)


def _filled(value: str, bindings: Mapping[str, str] | None) -> str:
    """``value`` with the group's bindings; a templated value loses the whitespace at its ends
    (``"{{ inputs.a }}\\n{{ inputs.b }}"`` with ``a`` empty is ``b``): it changes nothing a
    policy sees (lines and parts are trimmed), but would make an all-empty value look given,
    and would show in the evaluation's ``with``."""
    filled = apply_bindings(value, bindings)
    return filled.strip() if bindings is not None and filled != value else filled


def compute_arguments(
    policy: str,
    inputs: Sequence[PolicyInput],
    args: Mapping[str, str] | None,
    *,
    bindings: Mapping[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """The arguments policy ``policy`` is evaluated with (strings, before splitting).

    Raises PolicyError naming the policy and the input when a required input has no value.
    ``warn`` receives one message per argument the policy does not declare.
    """
    given = dict(args or {})
    declared = {i.name for i in inputs}
    # NOTE: as Chainloop's ComputeArguments: a policy without inputs gets the arguments as
    # written (no bindings applied), and an argument given for a declared input always wins,
    # even when empty (the default only fills an input that is absent or empty).
    result: dict[str, str] = {} if inputs else dict(given)
    for spec in inputs:
        if spec.required and spec.default:
            raise PolicyError(
                f"policy {policy}: input {spec.name!r} cannot be required and have a default",
                policy=policy,
                input=spec.name,
            )
        value = _filled(given.get(spec.name, ""), bindings)
        if not value:
            if spec.required:
                raise PolicyError(
                    f"policy {policy}: missing required input {spec.name!r}",
                    hint=f"add `with: {{{spec.name}: VALUE}}` to the policy attachment",
                    policy=policy,
                    input=spec.name,
                )
            if spec.default:
                result[spec.name] = apply_bindings(spec.default, bindings)
    for name, value in given.items():
        if name in declared:
            result[name] = _filled(value, bindings)
        elif warn is not None:
            if inputs:
                warn(f"argument {name!r} is not an input of policy {policy}; ignoring it")
            else:
                warn(f"policy {policy} declares no inputs; passing argument {name!r} as given")
    return result
