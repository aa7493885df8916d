"""Workflow contracts: what evidence a workflow must attest (Chainloop's formats).

Two document shapes mean the same thing and parse to the same :class:`Contract`:

* the current one, Kubernetes-style::

    apiVersion: chainloop.dev/v1
    kind: Contract
    metadata: {name: release, description: ..., annotations: {team: payments}}
    spec: {materials: [...], envAllowList: [...], runner: {type: ...}, annotations: [...],
           policies: {materials: [...], attestation: [...]}, policyGroups: [...]}

* the older ``schemaVersion: v1`` one, with the ``spec`` fields at the top level.

YAML and JSON are both accepted (JSON is parsed as YAML, so one code path gives line numbers
for both). Every error is a :class:`~chainproof.errors.ContractError` whose message reads
``source:line: dotted.field: problem`` and whose ``details`` hold ``source``, ``line`` (1-based,
or None) and ``field``. Written by hand: no library validates Chainloop contracts with
line-accurate messages.

Compatibility with Chainloop, which reads contracts through protojson/protoyaml: a field's proto
name and its JSON name are both accepted (``skip_upload``/``skipUpload``, ``envAllowList``/
``env_allow_list``, ...), as are ``CHAINLOOP_RUNNER_CONTEXT``/``CHAINLOOP_PR_INFO`` for our
``RUNNER_CONTEXT``/``PR_INFO``, ``RUNNER_TYPE_UNSPECIFIED`` (no runner) and YAML merge keys.
Stricter than Chainloop: unknown fields are errors, not dropped. Looser: ``metadata.name``
follows the control plane's contract names (letters, digits, ``.``, ``_``, ``-``), a superset
of Chainloop's DNS-1123 rule; material names stay DNS-1123 labels.

Normal form (:meth:`Contract.to_dict`): the current shape; ``metadata.description``,
``metadata.annotations`` and ``spec.runner`` appear only when set, every other field is always
spelled out (empty lists, ``false`` flags, ``group: null``). Policy and policy-group attachments
are kept as given minus keys whose value means "not set" (null, ``disabled: false``, empty
``with``/``requirements``/``skip``/``selector``); ``gate`` is kept because unset and ``false``
differ.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chainproof.core.kinds import MaterialKind, RunnerType
from chainproof.errors import ContractError

if TYPE_CHECKING:  # PyYAML is imported where a document is parsed: crafting never needs it
    import yaml

MAX_CONTRACT_BYTES = 1024 * 1024
MAX_NODES = 100_000  # after alias expansion: a "billion laughs" document stops here
MAX_DEPTH = 64
API_VERSION = "chainloop.dev/v1"
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# NOTE: metadata.name follows the control plane's contract names (server.services.orgs
# .check_name), a superset of Chainloop's DNS-1123 rule: the server names empty contracts
# after their workflow, and such a contract must survive ``from_dict(to_dict())``.
_CONTRACT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_ANNOTATION_NAME = re.compile(r"\w+", re.ASCII)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPEC_FIELDS = ("materials", "envAllowList", "runner", "annotations", "policies", "policyGroups")
_METADATA_FIELDS = ("name", "description", "annotations", "organization")
_MATERIAL_FIELDS = ("type", "name", "optional", "output", "annotations", "skip_upload", "group")
_ATTACHMENT_FIELDS = ("ref", "embedded", "with", "gate", "selector", "disabled", "requirements")
_GROUP_FIELDS = ("ref", "with", "skip", "gate")
_MATCH_MODES = ("EXACT", "PREFIX")
_UNSPECIFIED_RUNNER = "RUNNER_TYPE_UNSPECIFIED"
# Chainloop reads contracts with protojson/protoyaml, which take a field's proto name and its
# JSON name alike (Chainloop's own JSON output uses the latter); the format's spelling wins.
_FIELD_ALIASES = {
    "api_version": "apiVersion",
    "schema_version": "schemaVersion",
    "env_allow_list": "envAllowList",
    "policy_groups": "policyGroups",
    "skipUpload": "skip_upload",
    "matchMode": "match_mode",
}
# Chainloop's names for kinds chainproof spells without the vendor prefix.
_KIND_ALIASES = {"CHAINLOOP_RUNNER_CONTEXT": "RUNNER_CONTEXT", "CHAINLOOP_PR_INFO": "PR_INFO"}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = {  # by node class name
    "MappingNode": "tag:yaml.org,2002:map",
    "SequenceNode": "tag:yaml.org,2002:seq",
}


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
    metadata_annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, name: str | None = None) -> Contract:
        """A contract that requires nothing; ContractError if ``name`` is not a contract name."""
        if name is not None:
            _Validator("<contract>", {}).contract_name(name, ("metadata", "name"))
        return cls(name=name)

    @classmethod
    def parse(cls, text: str | bytes, *, source: str = "<contract>") -> Contract:
        """Parse a YAML or JSON contract; ContractError names source, line and field."""
        # A str never has fewer UTF-8 bytes than characters: skip encoding a huge one.
        too_big = len(text) > MAX_CONTRACT_BYTES or (
            isinstance(text, str) and len(text.encode("utf-8", "replace")) > MAX_CONTRACT_BYTES
        )
        if too_big:
            raise _error(
                source, None, None, f"the contract is larger than {MAX_CONTRACT_BYTES} bytes"
            )
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise _error(source, None, None, "the contract is not UTF-8 text") from None
        if not text.strip():
            raise _error(source, None, None, "the contract is empty")
        node = _compose(_untab_json(text), source)
        if node is None:
            raise _error(source, None, None, "the contract is empty")
        lines: dict[tuple[Any, ...], int] = {}
        data = _Builder(source, lines).build(node, ())
        return _Validator(source, lines).contract(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Contract:
        """Validate a contract given as a decoded object (e.g. from :meth:`to_dict`)."""
        return _Validator("<contract>", {}).contract(data)

    def to_dict(self) -> dict[str, Any]:
        """The normalised current form; contracts that mean the same give equal dicts.

        ``metadata.description``, ``metadata.annotations`` and ``spec.runner`` are present only
        when set; every other field is always spelled out.
        """
        metadata: dict[str, Any] = {"name": self.name}
        if self.description:
            metadata["description"] = self.description
        if self.metadata_annotations:
            metadata["annotations"] = dict(self.metadata_annotations)
        spec: dict[str, Any] = {
            "materials": [_material_dict(m) for m in self.materials],
            "envAllowList": list(self.env_allow_list),
            "annotations": [{"name": a.name, "value": a.value} for a in self.annotations],
            "policies": copy.deepcopy(self.policies),
            "policyGroups": copy.deepcopy(list(self.policy_groups)),
        }
        if self.runner_type:
            spec["runner"] = {"type": self.runner_type}
        return {"apiVersion": API_VERSION, "kind": "Contract", "metadata": metadata, "spec": spec}

    def with_required(self, required: Contract) -> Contract:
        """This contract with the policies and groups of ``required`` (an organisation's
        required policies, see :func:`parse_required_policies`) attached after its own."""
        policies = copy.deepcopy(self.policies)
        for section in ("materials", "attestation"):
            extra = required.policies.get(section) or []
            if extra:
                policies[section] = [*(policies.get(section) or []), *copy.deepcopy(extra)]
        groups = (*self.policy_groups, *copy.deepcopy(list(required.policy_groups)))
        return dataclasses.replace(self, policies=policies, policy_groups=groups)

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


def _error(source: str, line: int | None, dotted: str | None, message: str) -> ContractError:
    where = f"{source}:{line}" if line else source
    prefix = f"{where}: {dotted}: " if dotted else f"{where}: "
    return ContractError(prefix + message, source=source, line=line, field=dotted)


def _q(value: Any) -> str:
    """A value as the user would write it in JSON (double-quoted strings)."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _untab_json(text: str) -> str:
    """YAML forbids tabs between tokens; valid JSON has none inside strings, so swap them."""
    if "\t" in text and text.lstrip().startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            return text
        return text.replace("\t", " ")
    return text


def _compose(text: str, source: str) -> yaml.Node | None:
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise _error(source, line, None, f"not valid YAML or JSON: {problem}") from None
    except RecursionError:
        raise _error(source, None, None, "the document is nested too deeply") from None


class _Builder:
    """Plain data from a YAML node tree, recording each path's line."""

    def __init__(self, source: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.source = source
        self.lines = lines
        self.nodes = 0
        import yaml

        self.loader = yaml.SafeLoader("")  # one per document: its cache dies with it

    def fail(self, node: yaml.Node, path: tuple[Any, ...], message: str) -> ContractError:
        return _error(self.source, node.start_mark.line + 1, _dotted(path), message)

    def build(self, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        import yaml  # already loaded by _compose: a dictionary look-up

        self.nodes += 1
        if self.nodes > MAX_NODES or len(path) > MAX_DEPTH:
            raise self.fail(node, path, "the document is too large or nested too deeply")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            # Only plain collections: `!!set`, `!!omap` or a custom tag would change meaning.
            if node.tag != _COLLECTION_TAGS[type(node).__name__]:
                raise self.fail(node, path, f"unsupported tag {node.tag}")
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key, key_node, value_node in self.pairs(node, path, 0):
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(n, (*path, i)) for i, n in enumerate(node.value)]
        try:
            return self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as err:
            raise self.fail(node, path, f"cannot read this value ({err})") from None

    def pairs(
        self, node: yaml.MappingNode, path: tuple[Any, ...], depth: int
    ) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The mapping's entries, duplicates refused and YAML merge keys (``<<``) applied.

        PyYAML keeps the last of two equal keys without a word; a contract must not.
        """
        import yaml

        if depth > MAX_DEPTH:
            raise self.fail(node, path, "the document is too large or nested too deeply")
        explicit: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # https://yaml.org/type/merge.html
                subs = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for sub in subs:
                    if not isinstance(sub, yaml.MappingNode):
                        raise self.fail(sub, path, "a merge key (<<) takes mappings only")
                    for key, k, v in self.pairs(sub, path, depth + 1):
                        merged.setdefault(key, (k, v))  # the first mapping merged wins
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, path, "mapping keys must be plain text")
            key = str(key_node.value)
            if key in explicit:
                line = key_node.start_mark.line + 1
                raise _error(self.source, line, _dotted((*path, key)), "duplicate key")
            explicit[key] = (key_node, value_node)
        merged.update(explicit)
        return [(key, k, v) for key, (k, v) in merged.items()]


def _or_empty(value: Any) -> Any:
    """An absent or null section means an empty one; any other value is checked as given."""
    return {} if value is None else value


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


class _Validator:
    def __init__(self, source: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: tuple[Any, ...], message: str) -> ContractError:
        probe = path
        line = self.lines.get(probe)
        while line is None and probe:
            probe = probe[:-1]
            line = self.lines.get(probe)
        return _error(self.source, line, _dotted(path), message)

    # -- shapes -----------------------------------------------------------------------------

    def mapping(
        self, value: Any, path: tuple[Any, ...], allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        out = self.canonical(value, path, allowed)
        for key in out:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                also = f" (did you mean {_q(hint[0])}?)" if hint else ""
                raise self.fail(
                    (*path, key),
                    f"unknown field {_q(str(key))}{also}; allowed: {', '.join(allowed)}",
                )
        return out

    def canonical(
        self, value: Any, path: tuple[Any, ...], allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        """A copy of the mapping with proto-style spellings (``skipUpload``) renamed."""
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping, not {_type_name(value)}")
        out = dict(value)
        for alias, name in _FIELD_ALIASES.items():
            if alias not in out or name not in allowed:
                continue
            if name in out:
                raise self.fail((*path, alias), f"{_q(name)} is given too; write only one of them")
            out[name] = out.pop(alias)
            old = (*path, alias)
            for key in [k for k in self.lines if k[: len(old)] == old]:
                self.lines[(*path, name, *key[len(old) :])] = self.lines[key]
        return out

    def typed(self, value: Any, path: tuple[Any, ...], kind: type, what: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            quote = " (quote it)" if kind is str and not isinstance(value, list | dict) else ""
            raise self.fail(path, f"must be {what}, not {_type_name(value)} {_q(value)}{quote}")
        return value

    def text(self, value: Any, path: tuple[Any, ...]) -> str | None:
        out = self.typed(value, path, str, "a string")
        return None if out is None else str(out)

    def flag(self, value: Any, path: tuple[Any, ...]) -> bool:
        return bool(self.typed(value, path, bool, "true or false"))

    def sequence(self, value: Any, path: tuple[Any, ...]) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            raise self.fail(path, f"must be a list, not {_type_name(value)}")
        return list(value)

    def strings(self, raw: Any, path: tuple[Any, ...]) -> list[str]:
        return [self.string(item, (*path, i)) for i, item in enumerate(self.sequence(raw, path))]

    def string(self, value: Any, path: tuple[Any, ...]) -> str:
        """A required string: null is refused like any other non-string."""
        if not isinstance(value, str):
            quote = "" if value is None or isinstance(value, list | dict) else " (quote it)"
            raise self.fail(path, f"must be a string, not {_type_name(value)} {_q(value)}{quote}")
        return value

    def arguments(self, raw: Any, path: tuple[Any, ...]) -> dict[str, str]:
        """A ``with:`` mapping. Chainloop's documentation writes ``check_signature: yes`` and
        ``min_tests: 3`` unquoted, so a YAML boolean or integer is taken as its text (``true``,
        ``3``); a float is refused (``1.10`` would silently become ``1.1``)."""
        if isinstance(raw, Mapping):
            raw = {
                key: _scalar_text(value) if isinstance(value, bool | int) else value
                for key, value in raw.items()
            }
        return self.string_map(raw, path)

    def string_map(self, raw: Any, path: tuple[Any, ...]) -> dict[str, str]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise self.fail(path, f"must be a mapping of names to strings, not {_type_name(raw)}")
        return {str(key): self.string(value, (*path, key)) for key, value in raw.items()}

    # -- document ---------------------------------------------------------------------------

    def contract(self, data: Any) -> Contract:
        if not isinstance(data, Mapping):
            raise self.fail((), f"a contract must be a mapping, not {_type_name(data)}")
        data = self.canonical(data, (), ("apiVersion", "kind", "schemaVersion", *_SPEC_FIELDS))
        current = "apiVersion" in data or "kind" in data
        if "schemaVersion" in data:
            if current:
                raise self.fail(
                    ("schemaVersion",),
                    "mixes both formats: use either `apiVersion`/`kind` or `schemaVersion`",
                )
            data = self.mapping(data, (), ("schemaVersion", *_SPEC_FIELDS))
            if data["schemaVersion"] != "v1":
                raise self.fail(
                    ("schemaVersion",), f'unsupported {_q(data["schemaVersion"])}; use "v1"'
                )
            return self.spec(data, (), name=None, description=None, annotations={})
        if not current:
            raise self.fail(
                (),
                "neither contract format: expected `apiVersion: chainloop.dev/v1` with "
                "`kind: Contract`, or the older `schemaVersion: v1`",
            )
        self.mapping(data, (), ("apiVersion", "kind", "metadata", "spec"))
        if data.get("apiVersion") != API_VERSION:
            raise self.fail(
                ("apiVersion",), f"must be {_q(API_VERSION)}, not {_q(data.get('apiVersion'))}"
            )
        if data.get("kind") != "Contract":
            raise self.fail(("kind",), f'must be "Contract", not {_q(data.get("kind"))}')
        meta = self.mapping(_or_empty(data.get("metadata")), ("metadata",), _METADATA_FIELDS)
        name = self.text(meta.get("name"), ("metadata", "name"))
        if name is not None:
            self.contract_name(name, ("metadata", "name"))
        description = self.text(meta.get("description"), ("metadata", "description"))
        self.text(meta.get("organization"), ("metadata", "organization"))
        annotations = self.string_map(meta.get("annotations"), ("metadata", "annotations"))
        spec = self.mapping(_or_empty(data.get("spec")), ("spec",), _SPEC_FIELDS)
        return self.spec(
            spec, ("spec",), name=name, description=description or None, annotations=annotations
        )

    def contract_name(self, name: str, path: tuple[Any, ...]) -> None:
        if not _CONTRACT_NAME.fullmatch(name):
            raise self.fail(
                path,
                f"{_q(name)} is not a contract name (letters, digits, '.', '_' and '-', "
                "starting with a letter or digit, at most 100 characters)",
            )

    def dns_label(self, name: str, path: tuple[Any, ...]) -> None:
        if len(name) > 63 or not _DNS1123.fullmatch(name):
            raise self.fail(
                path,
                f"{_q(name)} is not a DNS-1123 label "
                "(lowercase letters, digits and '-', at most 63 characters)",
            )

    def spec(
        self,
        spec: dict[str, Any],
        at: tuple[Any, ...],
        *,
        name: str | None,
        description: str | None,
        annotations: dict[str, str],
    ) -> Contract:
        materials: list[MaterialSpec] = []
        seen: set[str] = set()
        for i, raw in enumerate(self.sequence(spec.get("materials"), (*at, "materials"))):
            m = self.material(raw, (*at, "materials", i))
            if m.name in seen:
                raise self.fail(
                    (*at, "materials", i, "name"), f"duplicate material name {_q(m.name)}"
                )
            seen.add(m.name)
            materials.append(m)
        env: list[str] = []
        for i, var in enumerate(self.sequence(spec.get("envAllowList"), (*at, "envAllowList"))):
            if not isinstance(var, str) or not _ENV_NAME.fullmatch(var):
                raise self.fail(
                    (*at, "envAllowList", i),
                    f"{_q(var)} is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
                )
            if var not in env:
                env.append(var)
        runner_type = None
        if spec.get("runner") is not None:
            runner = self.mapping(spec["runner"], (*at, "runner"), ("type",))
            if runner.get("type") not in (None, _UNSPECIFIED_RUNNER):
                runner_type = self.enum(
                    runner["type"], (*at, "runner", "type"), RunnerType, "runner type"
                )
        groups = self.sequence(spec.get("policyGroups"), (*at, "policyGroups"))
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
                for i, g in enumerate(groups)
            ),
            metadata_annotations=annotations,
        )

    def enum(self, value: Any, path: tuple[Any, ...], enum: type[Any], what: str) -> str:
        if value is None:
            raise self.fail(path, f"a {what} is required")
        names = [str(e.value) for e in enum]
        if enum is MaterialKind:
            value = _KIND_ALIASES.get(value, value) if isinstance(value, str) else value
        if not isinstance(value, str) or value not in names:
            close = difflib.get_close_matches(str(value), names, n=3)
            also = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(names)}"
            raise self.fail(path, f"unknown {what} {_q(value)}; {also}")
        return value

    def material(self, raw: Any, path: tuple[Any, ...]) -> MaterialSpec:
        m = self.mapping(raw, path, _MATERIAL_FIELDS)
        name = self.text(m.get("name"), (*path, "name"))
        if not name:
            raise self.fail((*path, "name"), "a material needs a name")
        self.dns_label(name, (*path, "name"))
        if m.get("type") is None:
            raise self.fail((*path, "type"), f"material {_q(name)} needs a type")
        kind = self.enum(m["type"], (*path, "type"), MaterialKind, "material kind")
        group = self.text(m.get("group"), (*path, "group"))
        return MaterialSpec(
            name=name,
            kind=kind,
            optional=self.flag(m.get("optional"), (*path, "optional")),
            output=self.flag(m.get("output"), (*path, "output")),
            skip_upload=self.flag(m.get("skip_upload"), (*path, "skip_upload")),
            group=group or None,
            annotations=self.annotations(m.get("annotations"), (*path, "annotations")),
        )

    def annotations(self, raw: Any, path: tuple[Any, ...]) -> tuple[Annotation, ...]:
        out: list[Annotation] = []
        seen: set[str] = set()
        for i, item in enumerate(self.sequence(raw, path)):
            a = self.mapping(item, (*path, i), ("name", "value"))
            name = self.text(a.get("name"), (*path, i, "name"))
            if not name or not _ANNOTATION_NAME.fullmatch(name):
                raise self.fail(
                    (*path, i, "name"),
                    f"{_q(name)} is not an annotation name (letters, digits and '_')",
                )
            if name in seen:
                raise self.fail((*path, i, "name"), f"duplicate annotation {_q(name)}")
            seen.add(name)
            value = self.text(a.get("value"), (*path, i, "value"))
            out.append(Annotation(name, value or ""))
        return tuple(out)

    # -- policies ---------------------------------------------------------------------------

    def policies(self, raw: Any, path: tuple[Any, ...]) -> dict[str, Any]:
        if raw is None:
            return {}
        p = self.mapping(raw, path, ("materials", "attestation"))
        out: dict[str, Any] = {}
        for key in ("materials", "attestation"):
            items = self.sequence(p.get(key), (*path, key))
            if items:
                out[key] = [
                    self.attachment(a, (*path, key, i), _ATTACHMENT_FIELDS)
                    for i, a in enumerate(items)
                ]
        return out

    def attachment(
        self, raw: Any, path: tuple[Any, ...], allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        a = {k: v for k, v in self.mapping(raw, path, allowed).items() if v is not None}
        if "embedded" in allowed and ("ref" in a) == ("embedded" in a):
            raise self.fail(path, "a policy attachment needs exactly one of ref or embedded")
        if "embedded" not in allowed and "ref" not in a:
            raise self.fail(path, "a policy group attachment needs a ref")
        checks: dict[str, Callable[[Any, tuple[Any, ...]], Any]] = {
            "ref": self.ref,
            "gate": self.flag,
            "disabled": self.flag,
            "embedded": self.embedded,
            "selector": self.selector,
            "requirements": self.strings,
            "skip": self.strings,
            "with": self.arguments,
        }
        out = {key: checks[key](value, (*path, key)) for key, value in a.items()}
        for key in ("with", "requirements", "skip", "selector"):
            if not out.get(key, True):
                del out[key]
        if out.get("disabled") is False:
            del out["disabled"]
        return out

    def embedded(self, value: Any, path: tuple[Any, ...]) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a policy document (a mapping), not {_type_name(value)}")
        return {str(k): self.plain(v, (*path, k)) for k, v in value.items()}

    def plain(self, value: Any, path: tuple[Any, ...]) -> Any:
        """A copy of JSON data; YAML-only values (dates, bytes, NaN) would not round-trip."""
        if isinstance(value, Mapping):
            return {str(k): self.plain(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.plain(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(path, f"{value} has no JSON form; quote it")
        if value is None or isinstance(value, str | int | float):  # bool is an int
            return value
        raise self.fail(path, f"must be JSON data, not {_type_name(value)} (quote it)")

    def ref(self, value: Any, path: tuple[Any, ...]) -> str:
        ref = self.text(value, path)
        if not ref or not ref.strip():
            raise self.fail(path, "must be a non-empty reference")
        return ref

    def selector(self, value: Any, path: tuple[Any, ...]) -> dict[str, str]:
        s = self.mapping(value, path, ("name", "match_mode"))
        out: dict[str, str] = {}
        name = self.text(s.get("name"), (*path, "name"))
        if name:
            out["name"] = name
        mode = self.text(s.get("match_mode"), (*path, "match_mode"))
        if mode is not None:
            if mode not in _MATCH_MODES:
                raise self.fail(
                    (*path, "match_mode"),
                    f"must be one of {', '.join(_MATCH_MODES)}, not {_q(mode)}",
                )
            out["match_mode"] = mode
        return out


def parse_required_policies(
    document: Mapping[str, Any], *, source: str = "required policies"
) -> Contract:
    """An organisation's required policies (``policies``: materials and attestation, and
    ``policyGroups``, as in a contract's spec) as a contract holding only them, validated as
    a contract's are; ContractError otherwise."""
    unknown = set(document) - {"policies", "policyGroups"}
    if unknown:
        raise ContractError(
            f"{source}: unknown field {sorted(unknown)[0]!r}",
            hint="required policies hold `policies` (materials, attestation) and `policyGroups`",
        )
    spec = {k: document[k] for k in ("policies", "policyGroups") if document.get(k)}
    wrapped = {
        "apiVersion": API_VERSION,
        "kind": "Contract",
        "metadata": {"name": "required-policies"},
        "spec": spec,
    }
    return Contract.parse(json.dumps(wrapped), source=source)


def _scalar_text(value: bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
