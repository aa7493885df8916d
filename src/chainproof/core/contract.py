"""Workflow contracts: what evidence a workflow must attest (Chainloop's formats).

Two document shapes mean the same thing and parse to the same :class:`Contract`:

* the current one, Kubernetes-style::

    apiVersion: chainloop.dev/v1
    kind: Contract
    metadata: {name: release, description: ...}
    spec: {materials: [...], envAllowList: [...], runner: {type: ...}, annotations: [...],
           policies: {materials: [...], attestation: [...]}, policyGroups: [...]}

* the older ``schemaVersion: v1`` one, with the ``spec`` fields at the top level.

YAML and JSON are both accepted (JSON is parsed as YAML, so one code path gives line numbers
for both). Every error names the source, the line and the dotted field. Written by hand: no
library validates Chainloop contracts with line-accurate messages.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from chainproof.core.kinds import MaterialKind, RunnerType
from chainproof.errors import ContractError

MAX_CONTRACT_BYTES = 1024 * 1024
API_VERSION = "chainloop.dev/v1"
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ANNOTATION_NAME = re.compile(r"^\w+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SPEC_FIELDS = ("materials", "envAllowList", "runner", "annotations", "policies", "policyGroups")
_MATERIAL_FIELDS = ("type", "name", "optional", "output", "annotations", "skip_upload", "group")
_ATTACHMENT_FIELDS = ("ref", "embedded", "with", "gate", "selector", "disabled", "requirements")
_GROUP_FIELDS = ("ref", "with", "skip", "gate")


@dataclass(frozen=True)
class Annotation:
    """A name and a value; an empty value must be supplied when attesting."""

    name: str
    value: str = ""


@dataclass(frozen=True)
class MaterialSpec:
    """One evidence slot of a contract."""

    name: str
    kind: str
    optional: bool = False
    output: bool = False
    skip_upload: bool = False
    group: str | None = None
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class Contract:
    """A validated contract. Build with :meth:`parse`, :meth:`from_dict` or :meth:`empty`."""

    name: str | None = None
    description: str | None = None
    materials: tuple[MaterialSpec, ...] = ()
    env_allow_list: tuple[str, ...] = ()
    runner_type: str | None = None
    annotations: tuple[Annotation, ...] = ()
    policies: dict[str, Any] = field(default_factory=dict)
    policy_groups: tuple[dict[str, Any], ...] = ()

    @classmethod
    def empty(cls, name: str | None = None) -> Contract:
        """A contract that requires nothing."""
        return cls(name=name)

    @classmethod
    def parse(cls, text: str | bytes, *, source: str = "<contract>") -> Contract:
        """Parse a YAML or JSON contract; ContractError names source, line and field."""
        if len(text) > MAX_CONTRACT_BYTES:
            raise ContractError(
                f"{source}: the contract is larger than {MAX_CONTRACT_BYTES} bytes",
                source=source,
                line=None,
                field=None,
            )
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise ContractError(
                    f"{source}: the contract is not UTF-8 text",
                    source=source,
                    line=None,
                    field=None,
                ) from None
        if not text.strip():
            raise ContractError(
                f"{source}: the contract is empty", source=source, line=None, field=None
            )
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(err, "problem", None) or str(err)
            raise ContractError(
                f"{source}:{line}: not valid YAML or JSON: {problem}",
                source=source,
                line=line,
                field=None,
            ) from None
        if node is None:
            raise ContractError(
                f"{source}: the contract is empty", source=source, line=None, field=None
            )
        lines: dict[tuple[Any, ...], int] = {}
        data = _to_python(node, (), lines, source)
        return _Validator(source, lines).contract(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Contract:
        """Validate a contract given as a decoded object (e.g. from :meth:`to_dict`)."""
        return _Validator("<contract>", {}).contract(dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The normalised current form; equal contracts give equal dicts.

        Every field is spelled out (empty lists, ``false`` flags), except ``runner`` and
        ``description``, present only when set, so consumers never test for missing keys.
        """
        metadata: dict[str, Any] = {"name": self.name}
        if self.description:
            metadata["description"] = self.description
        spec: dict[str, Any] = {
            "materials": [_material_dict(m) for m in self.materials],
            "envAllowList": list(self.env_allow_list),
            "annotations": [{"name": a.name, "value": a.value} for a in self.annotations],
            "policies": dict(self.policies),
            "policyGroups": list(self.policy_groups),
        }
        if self.runner_type:
            spec["runner"] = {"type": self.runner_type}
        return {"apiVersion": API_VERSION, "kind": "Contract", "metadata": metadata, "spec": spec}

    def to_json(self) -> str:
        """Canonical JSON of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def material(self, name: str) -> MaterialSpec | None:
        """The slot called ``name``, if any."""
        return next((m for m in self.materials if m.name == name), None)

    def groups(self) -> dict[str, list[MaterialSpec]]:
        """Group name → its member slots (at least one of each must be attested)."""
        out: dict[str, list[MaterialSpec]] = {}
        for m in self.materials:
            if m.group:
                out.setdefault(m.group, []).append(m)
        return out


def _material_dict(m: MaterialSpec) -> dict[str, Any]:
    return {
        "type": m.kind,
        "name": m.name,
        "optional": m.optional,
        "output": m.output,
        "skip_upload": m.skip_upload,
        "group": m.group,
        "annotations": [{"name": a.name, "value": a.value} for a in m.annotations],
    }


_SCALARS = yaml.SafeLoader(stream="")


def _to_python(
    node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], source: str
) -> Any:
    """Build plain data from a YAML node tree, recording each path's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _SCALARS.construct_object(key_node)
            if key in out:
                line = key_node.start_mark.line + 1
                dotted = _dotted((*path, key))
                raise ContractError(
                    f"{source}:{line}: {dotted}: duplicate key",
                    source=source,
                    line=line,
                    field=dotted,
                )
            out[key] = _to_python(value_node, (*path, key), lines, source)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(n, (*path, i), lines, source) for i, n in enumerate(node.value)]
    return _SCALARS.construct_object(node)


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


class _Validator:
    def __init__(self, source: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: tuple[Any, ...], message: str) -> ContractError:
        line = self.lines.get(path)
        probe = path
        while line is None and probe:
            probe = probe[:-1]
            line = self.lines.get(probe)
        dotted = _dotted(path)
        where = f"{self.source}:{line}" if line else self.source
        return ContractError(
            f"{where}: {dotted}: {message}", source=self.source, line=line, field=dotted
        )

    def mapping(
        self, value: Any, path: tuple[Any, ...], allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a mapping, not {_type_name(value)}")
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                also = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise self.fail(
                    (*path, key),
                    f"unknown field {key!r}{also}; allowed: {', '.join(allowed)}",
                )
        return value

    def typed(self, value: Any, path: tuple[Any, ...], kind: type, what: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(path, f"must be {what}, not {_type_name(value)} {value!r}")
        return value

    def sequence(self, value: Any, path: tuple[Any, ...]) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list, not {_type_name(value)}")
        return value

    def contract(self, data: Any) -> Contract:
        if not isinstance(data, dict):
            raise self.fail((), f"a contract must be a mapping, not {_type_name(data)}")
        if "schemaVersion" in data:
            self.mapping(data, (), ("schemaVersion", *_SPEC_FIELDS))
            if data["schemaVersion"] != "v1":
                raise self.fail(
                    ("schemaVersion",), f"unsupported {data['schemaVersion']!r}; use v1"
                )
            return self.spec(data, (), name=None, description=None)
        if "apiVersion" not in data and "kind" not in data:
            raise self.fail(
                (),
                "neither contract format: expected `apiVersion: chainloop.dev/v1` with "
                "`kind: Contract`, or the older `schemaVersion: v1`",
            )
        self.mapping(data, (), ("apiVersion", "kind", "metadata", "spec"))
        if data.get("apiVersion") != API_VERSION:
            raise self.fail(("apiVersion",), f"must be {API_VERSION!r}")
        if data.get("kind") != "Contract":
            raise self.fail(("kind",), "must be 'Contract'")
        meta = self.mapping(
            data.get("metadata") or {},
            ("metadata",),
            ("name", "description", "annotations", "organization"),
        )
        name = self.typed(meta.get("name"), ("metadata", "name"), str, "a string")
        if name is not None and not _DNS1123.match(name):
            raise self.fail(("metadata", "name"), f"{name!r} is not a DNS-1123 label")
        description = self.typed(
            meta.get("description"), ("metadata", "description"), str, "a string"
        )
        spec = self.mapping(data.get("spec") or {}, ("spec",), _SPEC_FIELDS)
        return self.spec(spec, ("spec",), name=name, description=description or None)

    def spec(
        self,
        spec: dict[str, Any],
        at: tuple[Any, ...],
        *,
        name: str | None,
        description: str | None,
    ) -> Contract:
        materials: list[MaterialSpec] = []
        seen: set[str] = set()
        for i, raw in enumerate(self.sequence(spec.get("materials"), (*at, "materials"))):
            m = self.material(raw, (*at, "materials", i))
            if m.name in seen:
                raise self.fail(
                    (*at, "materials", i, "name"), f"duplicate material name {m.name!r}"
                )
            seen.add(m.name)
            materials.append(m)
        env = []
        for i, var in enumerate(self.sequence(spec.get("envAllowList"), (*at, "envAllowList"))):
            if not isinstance(var, str) or not _ENV_NAME.match(var):
                raise self.fail((*at, "envAllowList", i), f"{var!r} is not an env var name")
            env.append(var)
        runner_type = None
        if spec.get("runner") is not None:
            runner = self.mapping(spec["runner"], (*at, "runner"), ("type",))
            runner_type = self.enum(
                runner.get("type"), (*at, "runner", "type"), RunnerType, "runner type"
            )
            if runner_type == "RUNNER_TYPE_UNSPECIFIED":
                runner_type = None
        return Contract(
            name=name,
            description=description,
            materials=tuple(materials),
            env_allow_list=tuple(env),
            runner_type=runner_type,
            annotations=self.annotations(spec.get("annotations"), (*at, "annotations")),
            policies=self.policies(spec.get("policies"), (*at, "policies")),
            policy_groups=tuple(
                self.attachment(g, (*at, "policyGroups", i), _GROUP_FIELDS)
                for i, g in enumerate(
                    self.sequence(spec.get("policyGroups"), (*at, "policyGroups"))
                )
            ),
        )

    def enum(self, value: Any, path: tuple[Any, ...], enum: type[Any], what: str) -> str:
        if value is None:
            raise self.fail(path, f"a {what} is required")
        names = [e.value for e in enum]
        if value == "RUNNER_TYPE_UNSPECIFIED" and enum is RunnerType:
            return str(value)
        if not isinstance(value, str) or value not in names:
            close = difflib.get_close_matches(str(value), names, n=1)
            also = f" (did you mean {close[0]}?)" if close else ""
            raise self.fail(path, f"unknown {what} {value!r}{also}; known: {', '.join(names)}")
        return value

    def material(self, raw: Any, path: tuple[Any, ...]) -> MaterialSpec:
        m = self.mapping(raw, path, _MATERIAL_FIELDS)
        name = self.typed(m.get("name"), (*path, "name"), str, "a string")
        if name is None:
            raise self.fail(path, "a material needs a name")
        if len(name) > 63 or not _DNS1123.match(name):
            raise self.fail(
                (*path, "name"),
                f"{name!r} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
            )
        kind = self.enum(m.get("type"), (*path, "type"), MaterialKind, "material kind")
        flags = {
            key: bool(self.typed(m.get(key), (*path, key), bool, "true or false"))
            for key in ("optional", "output", "skip_upload")
        }
        group = self.typed(m.get("group"), (*path, "group"), str, "a string")
        return MaterialSpec(
            name=name,
            kind=kind,
            group=group or None,
            annotations=self.annotations(m.get("annotations"), (*path, "annotations")),
            **flags,
        )

    def annotations(self, raw: Any, path: tuple[Any, ...]) -> tuple[Annotation, ...]:
        out = []
        for i, item in enumerate(self.sequence(raw, path)):
            a = self.mapping(item, (*path, i), ("name", "value"))
            name = self.typed(a.get("name"), (*path, i, "name"), str, "a string")
            if not name or not _ANNOTATION_NAME.match(name):
                raise self.fail((*path, i, "name"), f"{name!r} is not a valid annotation name")
            value = a.get("value")
            if value is not None and not isinstance(value, str | int | float):
                raise self.fail((*path, i, "value"), "must be a string")
            out.append(Annotation(name, "" if value is None else str(value)))
        return tuple(out)

    def policies(self, raw: Any, path: tuple[Any, ...]) -> dict[str, Any]:
        if raw is None:
            return {}
        p = self.mapping(raw, path, ("materials", "attestation"))
        return {
            key: [
                self.attachment(a, (*path, key, i), _ATTACHMENT_FIELDS)
                for i, a in enumerate(self.sequence(p[key], (*path, key)))
            ]
            for key in ("materials", "attestation")
            if p.get(key)
        }

    def attachment(
        self, raw: Any, path: tuple[Any, ...], allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        a = self.mapping(raw, path, allowed)
        if "embedded" in allowed and ("ref" in a) == ("embedded" in a):
            raise self.fail(path, "a policy attachment needs exactly one of ref or embedded")
        if "embedded" not in allowed and "ref" not in a:
            raise self.fail(path, "a policy group attachment needs a ref")
        checks: dict[str, Callable[[Any, tuple[Any, ...]], object]] = {
            "ref": lambda v, p: self.typed(v, p, str, "a string"),
            "gate": lambda v, p: self.typed(v, p, bool, "true or false"),
            "disabled": lambda v, p: self.typed(v, p, bool, "true or false"),
            "embedded": lambda v, p: self.typed(v, p, dict, "a policy document"),
            "selector": lambda v, p: self.mapping(v, p, ("name", "match_mode")),
            "requirements": lambda v, p: self.strings(v, p),
            "skip": lambda v, p: self.strings(v, p),
            "with": lambda v, p: self.with_args(v, p),
        }
        for key, value in a.items():
            checks[key](value, (*path, key))
        return dict(a)

    def strings(self, raw: Any, path: tuple[Any, ...]) -> None:
        for i, item in enumerate(self.sequence(raw, path)):
            self.typed(item, (*path, i), str, "a string")

    def with_args(self, raw: Any, path: tuple[Any, ...]) -> None:
        if not isinstance(raw, dict):
            raise self.fail(path, "must be a mapping of argument names to strings")
        for key, value in raw.items():
            if not isinstance(value, str | int | float | bool):
                raise self.fail((*path, key), "argument values must be strings")


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
