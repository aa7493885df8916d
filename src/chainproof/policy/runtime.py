"""Runtime policy inputs: ``--policy-input [policy:]name=value`` and ``--policy-input-from-file``.

As Chainloop's ``attestation add --policy-input``: a value given at run time *replaces* the
value the contract's attachment gives (``with:``) to a **declared** input of its policies.
Chainloop's ``--policy-input-from-file [policy:]name=FILE[:COLUMN]`` (:mod:`.input_files`)
*appends* a file column's values to it instead (one per line: policies see a list); the
replacing values are applied after the appended ones.
``name=value`` applies to every policy of the contract that declares ``name``;
``my-policy:name=value`` only to ``my-policy``. A name that no policy declares (or, scoped,
that the named policy does not declare) is an error, as is a policy the contract does not
attach: a typo must not silently leave a gate on its default.

Given at ``attestation init`` the values apply to every evaluation of the run; given at
``attestation add`` they apply to the policies of the materials that ``add`` records
(``material`` is then set). Where several apply to one input, a scoped value beats an unscoped
one, and a later one beats an earlier one of the same scope. The values are recorded in the
statement's predicate (``policyInputs``, :meth:`RuntimeInputs.to_list`), so that the control
plane's evaluation at push, and anyone re-evaluating later, use the same ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chainproof.errors import InvalidInput

__all__ = [
    "RuntimeInput",
    "RuntimeInputs",
    "parse_input_file_option",
    "parse_policy_input",
    "read_input_file",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_POLICY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_FORM = "--policy-input takes [POLICY:]NAME=VALUE, e.g. --policy-input severity=HIGH"


@dataclass(frozen=True)
class RuntimeInput:
    """One value for input ``name``: of ``policy`` only (None: of every policy declaring it),
    for the policies of ``material`` only (None: the whole run)."""

    name: str
    value: str
    policy: str | None = None
    material: str | None = None
    append: bool = False  # added after the contract's value (Chainloop's from-file form)

    def to_dict(self) -> dict[str, str]:
        """The predicate's form: ``name`` and ``value``, ``policy`` and ``material`` if set,
        ``mode: append`` for an appended value."""
        out = {"name": self.name, "value": self.value}
        if self.policy is not None:
            out["policy"] = self.policy
        if self.material is not None:
            out["material"] = self.material
        if self.append:
            out["mode"] = "append"
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuntimeInput:
        """Inverse of :meth:`to_dict`; InvalidInput when a field is missing or not a string."""
        fields = {k: data.get(k) for k in ("name", "value", "policy", "material")}
        if not isinstance(fields["name"], str) or not isinstance(fields["value"], str):
            raise InvalidInput("a recorded policy input has no name or value")
        for key in ("policy", "material"):
            if fields[key] is not None and not isinstance(fields[key], str):
                raise InvalidInput(f"a recorded policy input has a malformed {key}")
        mode = data.get("mode", "replace")
        if mode not in ("replace", "append"):
            raise InvalidInput(f"a recorded policy input has an unknown mode {mode!r}")
        return cls(**fields, append=mode == "append")  # type: ignore[arg-type]

    def label(self) -> str:
        """How the user wrote it: ``policy:name``."""
        return f"{self.policy}:{self.name}" if self.policy else self.name


@dataclass(frozen=True)
class RuntimeInputs:
    """The runtime inputs of a run, in the order they were given."""

    items: tuple[RuntimeInput, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Iterator[RuntimeInput]:
        return iter(self.items)

    def plus(self, more: Iterable[RuntimeInput]) -> RuntimeInputs:
        """These inputs followed by ``more`` (which win over them)."""
        return RuntimeInputs((*self.items, *more))

    def for_material(self, material: str) -> RuntimeInputs:
        """``more`` given at ``add`` are bound to the materials that add recorded."""
        return RuntimeInputs(tuple(replace(i, material=material) for i in self.items))

    def apply(
        self, policy: str, material: str | None, given: Mapping[str, str], declared: set[str]
    ) -> dict[str, str]:
        """``given`` (an attachment's ``with:``) with the values for ``policy`` evaluated on
        ``material`` (None: the statement) in place, for its ``declared`` inputs: appended
        values first, then replacing ones; unscoped before scoped, each in the order given."""
        out = dict(given)
        applicable = [
            i
            for i in self.items
            if (i.material is None or i.material == material)
            and i.policy in (None, policy)
            and i.name in declared
        ]
        ordered = sorted(applicable, key=lambda i: (not i.append, i.policy is not None))
        for item in ordered:  # sorted() is stable: the order given holds within each group
            kept = out.get(item.name, "") if item.append else ""
            out[item.name] = f"{kept}\n{item.value}" if kept else item.value
        return out

    def check(self, declared: Mapping[str, Iterable[str]]) -> None:
        """InvalidInput for an input that no attached policy declares (``declared``: policy
        name → its declared input names, for every policy the contract attaches)."""
        known = {p: set(names) for p, names in declared.items()}
        for item in self.items:
            if item.policy is not None:
                if item.policy not in known:
                    raise InvalidInput(
                        f"policy input {item.label()!r}: the contract attaches no policy "
                        f"called {item.policy!r}",
                        hint=_listing(known),
                    )
                if item.name not in known[item.policy]:
                    raise InvalidInput(
                        f"policy input {item.label()!r}: policy {item.policy} declares no "
                        f"input {item.name!r}",
                        hint=_listing({item.policy: known[item.policy]}),
                    )
            elif not any(item.name in names for names in known.values()):
                raise InvalidInput(
                    f"policy input {item.name!r}: no policy of the contract declares it",
                    hint=_listing(known),
                )

    def to_list(self) -> list[dict[str, str]]:
        """The predicate's ``policyInputs``."""
        return [i.to_dict() for i in self.items]

    @classmethod
    def from_list(cls, raw: Any) -> RuntimeInputs:
        """Inverse of :meth:`to_list` (None or absent: none); InvalidInput when malformed."""
        if raw is None:
            return cls()
        if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
            raise InvalidInput("the statement's policyInputs is not a list of objects")
        return cls(tuple(RuntimeInput.from_dict(x) for x in raw))


def _listing(known: Mapping[str, set[str]]) -> str:
    parts = [f"{p}: {', '.join(sorted(n)) or '(none)'}" for p, n in sorted(known.items())]
    if not parts:
        return "the contract attaches no policies"
    return "declared inputs by policy: " + "; ".join(parts)


def _key(text: str, origin: str) -> tuple[str | None, str]:
    """``policy:name`` or ``name``, checked."""
    policy, sep, name = text.partition(":")
    if not sep:
        policy, name = "", text
    policy, name = policy.strip(), name.strip()
    if sep and not _POLICY.fullmatch(policy):
        raise InvalidInput(
            f"{origin}: {policy!r} is not a policy name", hint="write POLICY:NAME=VALUE"
        )
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{origin}: {name!r} is not an input name (letters, digits, _ and -)", hint=_FORM
        )
    return (policy if sep else None), name


def parse_policy_input(text: str) -> RuntimeInput:
    """``[policy:]name=value`` → a RuntimeInput; InvalidInput (exit 2) when malformed."""
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidInput(f"--policy-input {text!r} has no '='", hint=_FORM)
    policy, name = _key(key, f"--policy-input {text!r}")
    if not value.strip():
        raise InvalidInput(f"--policy-input {text!r} has no value after '='", hint=_FORM)
    return RuntimeInput(name=name, value=value, policy=policy)


def parse_input_file_option(text: str) -> list[RuntimeInput]:
    """One ``--policy-input-from-file``: Chainloop's ``[policy:]name=FILE[:COLUMN]`` (an
    appended value: the column's values, one per line), else the path of a YAML or JSON map
    (:func:`read_input_file`)."""
    if "=" not in text:
        return read_input_file(Path(text))
    from chainproof.policy.input_files import column_values, split_spec

    key, path, column = split_spec(text)
    policy, name = _key(key, f"--policy-input-from-file {text!r}")
    values = column_values(path, column or name)
    if not values:
        raise InvalidInput(f"--policy-input-from-file {text!r}: the column holds no values")
    return [RuntimeInput(name=name, value="\n".join(values), policy=policy, append=True)]


def _scalar(value: Any, where: str) -> str:
    """A file's value as the string ``with:`` would hold: a list becomes one line per item
    (policies see a list), numbers and booleans their YAML spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
        return "\n".join(_scalar(v, where) for v in value)
    raise InvalidInput(
        f"{where}: the value is not a string, number, boolean or list of them",
        hint="write `name: value` or `name: [a, b]`",
    )


def read_input_file(path: Path) -> list[RuntimeInput]:
    """The inputs of a YAML or JSON map: ``name: value``, ``policy:name: value``, or
    ``policy: {name: value}`` (scoped to that policy). InvalidInput when it cannot be read."""
    from chainproof.core.materials._structured import parse_yaml

    origin = f"--policy-input-from-file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{origin}: cannot read it ({err})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else parse_yaml(text)
    except ValueError as err:  # DocumentError is a ValueError naming the line
        raise InvalidInput(f"{origin}: not valid YAML or JSON: {err}") from None
    if not isinstance(data, Mapping) or not data:
        raise InvalidInput(
            f"{origin}: expected a map of input names to values",
            hint="e.g. `severity: HIGH` or `my-policy: {severity: HIGH}`",
        )
    out: list[RuntimeInput] = []
    for key, value in data.items():
        where = f"{origin}: {key}"
        if isinstance(value, Mapping):
            policy, _ = _key(f"{key}:x", where)
            for name, sub in value.items():
                _, checked = _key(str(name), f"{where}.{name}")
                out.append(RuntimeInput(checked, _scalar(sub, f"{where}.{name}"), policy))
            continue
        policy, name = _key(str(key), where)
        out.append(RuntimeInput(name, _scalar(value, where), policy))
    return out
