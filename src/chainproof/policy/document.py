"""Policy and PolicyGroup documents, in Chainloop's format (so existing policies load unchanged).

A policy::

    apiVersion: chainloop.dev/v1            # or workflowcontract.chainloop.dev/v1
    kind: Policy
    metadata: {name: sbom-banned-licenses, description: ..., annotations: {category: sbom}}
    spec:
      inputs: [{name: licenses, required: true}]       # or {name: x, default: "..."}
      policies:
        - kind: SBOM_CYCLONEDX_JSON                   # or ATTESTATION: the whole statement
          embedded: |                                  # or path: / ref: a .rego file
            package sbom_banned_licenses
            ...
          attestation_phases: [PUSH]                   # ATTESTATION policies: INIT and/or PUSH

The older single-script form (``spec.type`` with ``spec.embedded`` or ``spec.path``) is read
too. A policy group::

    kind: PolicyGroup
    metadata: {name: sbom-quality}
    spec:
      inputs: [{name: bannedLicenses}]
      policies:
        materials:
          - name: sbom
            type: SBOM_CYCLONEDX_JSON
            policies:
              - {ref: sbom-banned-licenses, with: {licenses: "{{ inputs.bannedLicenses }}"}}
        attestation: [{ref: runner-ci}]

Parsing shares the contract parser's YAML reader, so every error is a
:class:`~chainproof.errors.PolicyError` reading ``source:line: dotted.field: problem`` with
``source``, ``line`` and ``field`` in its details. Stricter than Chainloop, as for contracts:
unknown fields are errors; ``auto_match`` is refused as not supported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# NOTE: the contract parser's YAML reader (line numbers, duplicate keys, alias bombs) and its
# field checks are reused rather than copied; they raise ContractError, translated below.
from chainproof.core.contract import _Builder, _compose, _untab_json, _Validator
from chainproof.core.kinds import MaterialKind
from chainproof.errors import ContractError, PolicyError

__all__ = [
    "API_VERSIONS",
    "ATTESTATION",
    "PHASES",
    "GroupMaterial",
    "Policy",
    "PolicyGroup",
    "PolicyInput",
    "PolicyScript",
    "ScriptLoader",
    "parse_document",
]

API_VERSIONS = ("chainloop.dev/v1", "workflowcontract.chainloop.dev/v1")
ATTESTATION = "ATTESTATION"
"""The kind of policies that read the whole attestation (the in-toto statement)."""
PHASES = ("INIT", "PUSH")
MAX_POLICY_BYTES = 1024 * 1024
FINDING_TYPES = ("VULNERABILITY", "SAST", "LICENSE_VIOLATION")
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_METADATA_FIELDS = (
    "name",
    "description",
    "annotations",
    "organization",
    "finding_type",
    "findingType",
)
_ATTACHMENT_FIELDS = ("ref", "embedded", "with", "gate", "selector", "disabled", "requirements")
_BLOCK_SCALAR = re.compile(r":\s*\|[-+0-9]*\s*(#.*)?$")

ScriptLoader = Callable[[str], tuple[str, str]]
"""Reads a script named by ``path:``/``ref:``; returns (origin for messages, Rego text)."""


@dataclass(frozen=True)
class PolicyInput:
    """One declared argument: a value from ``with:``, required or with a default."""

    name: str
    description: str = ""
    required: bool = False
    default: str = ""


@dataclass(frozen=True)
class PolicyScript:
    """The Rego of one kind. ``origin`` names where it came from in messages; its first line
    is line ``line_offset + 1`` of ``origin`` (None when that is unknown: a quoted scalar)."""

    kind: str | None
    source: str
    origin: str
    line_offset: int | None = 0
    phases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A validated policy document. Build with :meth:`parse` or :meth:`from_dict`."""

    name: str
    scripts: tuple[PolicyScript, ...]
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    inputs: tuple[PolicyInput, ...] = ()
    finding_type: str | None = None
    digest: str = ""
    """sha256 hex of the document as given (its identity in evaluations and caches)."""
    source: str = "<policy>"

    @classmethod
    def parse(
        cls, text: str | bytes, *, source: str = "<policy>", load: ScriptLoader | None = None
    ) -> Policy:
        """Parse a YAML or JSON policy; ``load`` reads ``path:``/``ref:`` scripts.

        Raises PolicyError naming source, line and field (also when the document is a
        PolicyGroup, and when a script cannot be read).
        """
        doc = parse_document(text, source=source, load=load)
        if not isinstance(doc, Policy):
            raise PolicyError(f"{source}: is a PolicyGroup, not a Policy", source=source)
        return doc

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str = "<policy>", load: ScriptLoader | None = None
    ) -> Policy:
        """Validate a decoded policy (e.g. one embedded in a contract); PolicyError if invalid."""
        import json

        text = json.dumps(data, sort_keys=True)
        return cls.parse(text, source=source, load=load)

    def kinds(self) -> tuple[str, ...]:
        """The kinds this policy applies to; empty when it needs a name selector."""
        return tuple(dict.fromkeys(s.kind for s in self.scripts if s.kind))

    def scripts_for(self, kind: str) -> tuple[PolicyScript, ...]:
        """The scripts evaluated for a material of ``kind`` (its own and kind-less ones)."""
        return tuple(s for s in self.scripts if s.kind in (None, kind))

    def phases_for(self, kind: str) -> tuple[str, ...]:
        """The attestation phases the scripts of ``kind`` ask for; empty means every phase."""
        return tuple(dict.fromkeys(p for s in self.scripts_for(kind) for p in s.phases))


@dataclass(frozen=True)
class GroupMaterial:
    """A material a policy group expects, with the policies attached to it.

    ``name`` may hold ``{{ inputs.x }}`` placeholders, filled from the group's arguments; a
    name that fills to the empty string selects every material of ``kind`` (of any kind the
    policy has when ``kind`` is None), as Chainloop's groups do for an unnamed material.
    """

    name: str
    kind: str | None = None
    optional: bool = False
    policies: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class PolicyGroup:
    """A validated policy group document."""

    name: str
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    inputs: tuple[PolicyInput, ...] = ()
    materials: tuple[GroupMaterial, ...] = ()
    attestation: tuple[dict[str, Any], ...] = ()
    digest: str = ""
    source: str = "<policy group>"

    @classmethod
    def parse(cls, text: str | bytes, *, source: str = "<policy group>") -> PolicyGroup:
        """Parse a YAML or JSON policy group; PolicyError naming source, line and field."""
        doc = parse_document(text, source=source)
        if not isinstance(doc, PolicyGroup):
            raise PolicyError(f"{source}: is a Policy, not a PolicyGroup", source=source)
        return doc


@contextmanager
def _policy_errors() -> Iterator[None]:
    """The contract parser's errors, re-raised as PolicyError with the same details."""
    try:
        yield
    except ContractError as err:
        raise PolicyError(err.message, hint=err.hint, **err.details) from None


def parse_document(
    text: str | bytes, *, source: str = "<policy>", load: ScriptLoader | None = None
) -> Policy | PolicyGroup:
    """Parse a Policy or a PolicyGroup (by its ``kind``); PolicyError when invalid."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(
            f"{source}: the document is larger than {MAX_POLICY_BYTES} bytes", source=source
        )
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PolicyError(f"{source}: the document is not UTF-8 text", source=source) from None
    if not decoded.strip():
        raise PolicyError(f"{source}: the document is empty", source=source)
    digest = hashlib.sha256(raw).hexdigest()
    with _policy_errors():
        node = _compose(_untab_json(decoded), source)
        if node is None:
            raise PolicyError(f"{source}: the document is empty", source=source)
        lines: dict[tuple[Any, ...], int] = {}
        data = _Builder(source, lines).build(node, ())
        reader = _Reader(source, lines, decoded.splitlines(), load)
        return reader.document(data, digest)


class _Reader:
    """Checks a decoded document, field by field, with the contract parser's helpers."""

    def __init__(
        self,
        source: str,
        lines: dict[tuple[Any, ...], int],
        text_lines: list[str],
        load: ScriptLoader | None,
    ) -> None:
        self.source = source
        self.v = _Validator(source, lines)
        self.lines = lines
        self.text_lines = text_lines
        self.load = load

    def fail(self, path: tuple[Any, ...], message: str) -> ContractError:
        return self.v.fail(path, message)

    def document(self, data: Any, digest: str) -> Policy | PolicyGroup:
        if not isinstance(data, Mapping):
            raise self.fail((), "a policy document must be a mapping")
        top = self.v.mapping(data, (), ("apiVersion", "kind", "metadata", "spec"))
        if top.get("apiVersion") not in API_VERSIONS:
            raise self.fail(
                ("apiVersion",),
                f"must be {API_VERSIONS[0]!r}, not {top.get('apiVersion')!r}",
            )
        kind = top.get("kind")
        if kind not in ("Policy", "PolicyGroup"):
            raise self.fail(("kind",), f"must be 'Policy' or 'PolicyGroup', not {kind!r}")
        meta = self.metadata(top.get("metadata"))
        spec = top.get("spec")
        if spec is None:
            raise self.fail(("spec",), "a policy document needs a spec")
        if kind == "PolicyGroup":
            return self.group(spec, meta, digest)
        return self.policy(spec, meta, digest)

    def metadata(self, raw: Any) -> dict[str, Any]:
        if raw is None:
            raise self.fail(("metadata",), "a policy document needs metadata with a name")
        meta = self.v.mapping(raw, ("metadata",), _METADATA_FIELDS)
        name = self.v.text(meta.get("name"), ("metadata", "name"))
        if not name:
            raise self.fail(("metadata", "name"), "a policy document needs a name")
        self.v.dns_label(name, ("metadata", "name"))
        finding = meta.get("finding_type", meta.get("findingType"))
        if finding is not None and finding not in FINDING_TYPES:
            raise self.fail(
                ("metadata", "finding_type"),
                f"must be one of {', '.join(FINDING_TYPES)}, not {finding!r}",
            )
        return {
            "name": name,
            "description": self.v.text(meta.get("description"), ("metadata", "description")) or "",
            "annotations": self.v.string_map(meta.get("annotations"), ("metadata", "annotations")),
            "finding_type": finding,
        }

    # -- Policy -----------------------------------------------------------------------------
    def policy(self, raw: Any, meta: dict[str, Any], digest: str) -> Policy:
        at: tuple[Any, ...] = ("spec",)
        spec = self.v.mapping(
            raw, at, ("policies", "inputs", "type", "path", "embedded", "auto_match", "autoMatch")
        )
        for key in ("auto_match", "autoMatch"):
            if key in spec:
                raise self.fail((*at, key), "auto_match policies are not supported")
        legacy = [k for k in ("type", "path", "embedded") if k in spec]
        if legacy and "policies" in spec:
            raise self.fail(
                (*at, legacy[0]), "use either spec.policies or the older spec.type/path/embedded"
            )
        if legacy:
            scripts = [self.script({k: spec[k] for k in legacy}, at, legacy=True)]
        else:
            items = self.v.sequence(spec.get("policies"), (*at, "policies"))
            if not items:
                raise self.fail((*at, "policies"), "a policy needs at least one script")
            scripts = [self.script(item, (*at, "policies", i)) for i, item in enumerate(items)]
        return Policy(
            name=meta["name"],
            description=meta["description"],
            annotations=meta["annotations"],
            finding_type=meta["finding_type"],
            inputs=self.inputs(spec.get("inputs"), (*at, "inputs")),
            scripts=tuple(scripts),
            digest=digest,
            source=self.source,
        )

    def script(self, raw: Any, path: tuple[Any, ...], *, legacy: bool = False) -> PolicyScript:
        if legacy:
            s = dict(raw)
            kind_key = "type"
        else:
            s = self.v.mapping(
                raw,
                path,
                ("kind", "embedded", "ref", "path", "attestation_phases", "attestationPhases"),
            )
            kind_key = "kind"
        kind = self.kind(s.get(kind_key), (*path, kind_key))
        sources = [k for k in ("embedded", "ref", "path") if s.get(k) is not None]
        if len(sources) != 1:
            raise self.fail(path, "a policy script needs exactly one of embedded, ref or path")
        key = sources[0]
        value = self.v.string(s[key], (*path, key))
        if key == "embedded":
            origin, text, offset = self.source, value, self.embedded_offset((*path, key))
        else:
            if self.load is None:
                raise self.fail((*path, key), f"cannot read {value!r} here (no base location)")
            try:
                origin, text = self.load(value)
            except PolicyError as err:
                raise self.fail((*path, key), err.message) from None
            offset = 0
        if not text.strip():
            raise self.fail((*path, key), "the Rego script is empty")
        phases_raw = s.get("attestation_phases", s.get("attestationPhases"))
        phases = tuple(self.v.strings(phases_raw, (*path, "attestation_phases")))
        for i, phase in enumerate(phases):
            if phase not in PHASES:
                raise self.fail(
                    (*path, "attestation_phases", i),
                    f"must be one of {', '.join(PHASES)}, not {phase!r}",
                )
        return PolicyScript(
            kind=kind, source=text, origin=origin, line_offset=offset, phases=phases
        )

    def embedded_offset(self, path: tuple[Any, ...]) -> int | None:
        """Lines of the document before an embedded script's first line, when it is a
        literal block scalar (``embedded: |``) whose lines map one to one; else None."""
        line = self.lines.get(path)
        if line is None or line > len(self.text_lines):
            return None
        return line if _BLOCK_SCALAR.search(self.text_lines[line - 1]) else None

    def kind(self, value: Any, path: tuple[Any, ...]) -> str | None:
        if value is None or value == "MATERIAL_TYPE_UNSPECIFIED":
            return None
        if value == "ARTIFACT":
            raise self.fail(path, "a policy cannot apply to ARTIFACT materials (opaque files)")
        return self.v.enum(value, path, MaterialKind, "material kind")

    def inputs(self, raw: Any, path: tuple[Any, ...]) -> tuple[PolicyInput, ...]:
        out: list[PolicyInput] = []
        seen: set[str] = set()
        for i, item in enumerate(self.v.sequence(raw, path)):
            at = (*path, i)
            d = self.v.mapping(item, at, ("name", "description", "required", "default"))
            name = self.v.text(d.get("name"), (*at, "name"))
            if not name or not _INPUT_NAME.fullmatch(name):
                raise self.fail(
                    (*at, "name"), f"{name!r} is not an input name (letters, digits, _ and -)"
                )
            if name in seen:
                raise self.fail((*at, "name"), f"duplicate input {name!r}")
            seen.add(name)
            required = self.v.flag(d.get("required"), (*at, "required"))
            default = self.v.text(d.get("default"), (*at, "default")) or ""
            if required and default:
                raise self.fail(
                    (*at, "default"), f"input {name!r} cannot be required and have a default"
                )
            description = self.v.text(d.get("description"), (*at, "description")) or ""
            out.append(PolicyInput(name, description, required, default))
        return tuple(out)

    # -- PolicyGroup ------------------------------------------------------------------------
    def group(self, raw: Any, meta: dict[str, Any], digest: str) -> PolicyGroup:
        at: tuple[Any, ...] = ("spec",)
        spec = self.v.mapping(raw, at, ("policies", "inputs"))
        policies = self.v.mapping(
            spec.get("policies") or {}, (*at, "policies"), ("materials", "attestation")
        )
        materials = [
            self.group_material(m, (*at, "policies", "materials", i))
            for i, m in enumerate(
                self.v.sequence(policies.get("materials"), (*at, "policies", "materials"))
            )
        ]
        # a templated name may repeat with another type: "{{ inputs.x }}" left empty means
        # "every material of that type"
        keys = [(m.name, m.kind) for m in materials]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise self.fail(
                    (*at, "policies", "materials", i, "name"), f"duplicate material {key[0]!r}"
                )
        attestation = [
            self.v.attachment(a, (*at, "policies", "attestation", i), _ATTACHMENT_FIELDS)
            for i, a in enumerate(
                self.v.sequence(policies.get("attestation"), (*at, "policies", "attestation"))
            )
        ]
        return PolicyGroup(
            name=meta["name"],
            description=meta["description"],
            annotations=meta["annotations"],
            inputs=self.inputs(spec.get("inputs"), (*at, "inputs")),
            materials=tuple(materials),
            attestation=tuple(attestation),
            digest=digest,
            source=self.source,
        )

    def group_material(self, raw: Any, path: tuple[Any, ...]) -> GroupMaterial:
        m = self.v.mapping(raw, path, ("type", "name", "optional", "policies"))
        name = self.v.text(m.get("name"), (*path, "name"))
        if not name:
            raise self.fail((*path, "name"), "a group material needs a name")
        if "{{" not in name:
            self.v.dns_label(name, (*path, "name"))
        kind = self.kind(m.get("type"), (*path, "type"))
        policies = [
            self.v.attachment(a, (*path, "policies", i), _ATTACHMENT_FIELDS)
            for i, a in enumerate(self.v.sequence(m.get("policies"), (*path, "policies")))
        ]
        return GroupMaterial(
            name=name,
            kind=kind,
            optional=self.v.flag(m.get("optional"), (*path, "optional")),
            policies=tuple(policies),
        )
