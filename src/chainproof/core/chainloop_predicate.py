"""Chainloop's own attestation predicate (``chainloop.dev/attestation/v0.2``), read.

Chainloop's CLI signs an in-toto statement whose predicate is built by its renderer
(``pkg/attestation/renderer/chainloop/v02.go``): ``metadata`` (workflow, project, organisation,
contract, run ids, times), ``materials`` (ResourceDescriptors annotated
``chainloop.material.*``), ``annotations``, ``runnerType``/``runnerUrl``, ``env`` and
``policyEvaluations`` (a map from a material name, or ``CHAINLOOP.ATTESTATION``, to a list of
evaluations). :func:`read_predicate` maps it onto the words chainproof's own predicate uses
(docs/verification-outputs.md, "Chainloop attestations"), so ``verify`` and ``import`` show
one shape whichever tool signed. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput

__all__ = [
    "ATTESTATION_SCOPE",
    "CHAINLOOP_PREDICATE_TYPES",
    "ChainloopMaterial",
    "ChainloopPredicate",
    "is_chainloop",
    "read_predicate",
]

CHAINLOOP_PREDICATE_TYPES = (
    "chainloop.dev/attestation/v0.2",  # what Chainloop writes (renderer/chainloop/v02.go)
    "https://chainloop.dev/attestation/v0.2",
)
#: The key of ``policyEvaluations`` for policies about the whole attestation.
ATTESTATION_SCOPE = "CHAINLOOP.ATTESTATION"
_MAT = "chainloop.material."
_NAME, _TYPE, _CAS = _MAT + "name", _MAT + "type", _MAT + "cas"
_INLINE = _MAT + "cas.inline"


def is_chainloop(predicate_type: str) -> bool:
    """Whether a statement's ``predicateType`` is Chainloop's attestation predicate."""
    return predicate_type in CHAINLOOP_PREDICATE_TYPES


@dataclass(frozen=True)
class ChainloopMaterial:
    """One material of a Chainloop predicate.

    ``digest`` is None for a material Chainloop recorded by value only (a ``STRING`` with
    ``content`` and no digest); ``value`` is the decoded inline content, when there is one.
    ``in_cas``: Chainloop uploaded the bytes to its CAS (``chainloop.material.cas``), so an
    export holds a blob named by the digest. ``annotations`` are the user's (the
    ``chainloop.material.*`` bookkeeping removed).
    """

    name: str
    kind: str
    digest: Digest | None
    filename: str | None = None
    value: str | None = None
    in_cas: bool = False
    output: bool = False
    annotations: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = field(default=None, repr=False)

    @property
    def address(self) -> Digest | None:
        """The digest chainproof files the material under: Chainloop's, else (a value kept
        inline without one, as Chainloop records strings) the SHA-256 of its bytes, as
        chainproof digests strings; None when there is neither."""
        if self.digest is not None:
            return self.digest
        return Digest.of_bytes(self.content) if self.content is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The row ``verify -o json`` and ``import`` show."""
        return {
            "name": self.name,
            "kind": self.kind,
            "digest": str(self.digest) if self.digest else None,
            "filename": self.filename,
            "value": self.value,
            "in_cas": self.in_cas,
            "output": self.output,
            "annotations": self.annotations,
        }


@dataclass(frozen=True)
class ChainloopPredicate:
    """A Chainloop predicate mapped onto chainproof's words (see the module docstring)."""

    workflow: dict[str, Any]
    runner: dict[str, Any]
    started_on: str | None
    finished_on: str | None
    builder: str | None
    materials: tuple[ChainloopMaterial, ...]
    annotations: dict[str, Any]
    policy_evaluations: tuple[dict[str, Any], ...]
    policy_strategy: str | None
    policy_blocked: bool

    @property
    def violations(self) -> int:
        """How many violations the evaluations Chainloop recorded carry."""
        return sum(len(e["violations"]) for e in self.policy_evaluations)

    def to_dict(self) -> dict[str, Any]:
        """The ``chainloop`` section of ``verify -o json`` (docs/verification-outputs.md)."""
        return {
            "workflow": self.workflow,
            "runner": self.runner,
            "started_on": self.started_on,
            "finished_on": self.finished_on,
            "builder": self.builder,
            "materials": [m.to_dict() for m in self.materials],
            "annotations": self.annotations,
            "policy_evaluations": list(self.policy_evaluations),
            "policy_strategy": self.policy_strategy,
            "policy_blocked": self.policy_blocked,
        }


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"the Chainloop predicate's {what} is not an object")
    return value


def _workflow(meta: Mapping[str, Any]) -> dict[str, Any]:
    revision = meta.get("contractVersion")
    facts = {
        "org": _text(meta, "organization"),
        "project": _text(meta, "project"),
        "projectVersion": _text(meta, "projectVersion"),
        "projectVersionPrerelease": meta.get("projectVersionPrerelease"),
        "name": _text(meta, "name"),
        "team": _text(meta, "team"),
        "workflowID": _text(meta, "workflowID"),
        "runID": _text(meta, "workflowRunID"),
        "contractName": _text(meta, "contractName"),
        "contractRevision": int(str(revision)) if str(revision or "").isdigit() else None,
    }
    return {k: v for k, v in facts.items() if v is not None}


def _material(index: int, raw: Any, outputs: set[Any]) -> ChainloopMaterial:
    item = _mapping(raw, f"materials[{index}]")
    notes = dict(_mapping(item.get("annotations"), f"materials[{index}].annotations"))
    name = notes.get(_NAME)
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"the Chainloop predicate's materials[{index}] has no {_NAME}")
    digests = _mapping(item.get("digest"), f"materials[{index}].digest")
    digest = None
    for algorithm in ("sha256", "sha1"):
        if isinstance(digests.get(algorithm), str):
            digest = Digest.parse(f"{algorithm}:{digests[algorithm]}")
            break
    value = content = None
    if isinstance(item.get("content"), str):
        try:
            content = base64.b64decode(item["content"], validate=True)
            value = content.decode("utf-8")
        except binascii.Error:
            raise InvalidInput(
                f"the Chainloop predicate's materials[{index}].content is not base64"
            ) from None
        except UnicodeDecodeError:
            value = None  # binary inline content: the digest still names it
    return ChainloopMaterial(
        name=name,
        kind=str(notes.get(_TYPE) or "UNKNOWN"),
        digest=digest,
        filename=_text(item, "name") if digest is not None else None,
        value=value,
        in_cas=notes.get(_CAS) is True and notes.get(_INLINE) is not True,
        output=name in outputs,
        content=content,
        annotations={k: v for k, v in notes.items() if not k.startswith(_MAT)},
    )


def _evaluations(raw: Any) -> tuple[dict[str, Any], ...]:
    scopes = _mapping(raw, "policyEvaluations")
    rows: list[dict[str, Any]] = []
    for scope, items in scopes.items():
        if not isinstance(items, list):
            raise InvalidInput(
                f"the Chainloop predicate's policyEvaluations[{scope!r}] is not a list"
            )
        for item in items:
            item = _mapping(item, "a policy evaluation")
            reference = _mapping(item.get("policyReference"), "policyReference")
            violations = item.get("violations") or []
            rows.append(
                {
                    "name": _text(item, "name"),
                    "material": None if scope == ATTESTATION_SCOPE else scope,
                    "reference": _text(reference, "uri") or _text(reference, "name"),
                    "with": dict(_mapping(item.get("with"), "with")),
                    "skipped": item.get("skipped") is True,
                    "violations": [
                        str(v.get("message")) for v in violations if isinstance(v, Mapping)
                    ],
                }
            )
    return tuple(rows)


def read_predicate(
    predicate: Mapping[str, Any], subjects: Sequence[Mapping[str, Any]] = ()
) -> ChainloopPredicate:
    """Map a ``chainloop.dev/attestation/v0.2`` predicate; InvalidInput when malformed.

    ``subjects``, the statement's, mark the materials Chainloop made outputs (a subject
    annotated with the material's name).
    """
    outputs = {
        s["annotations"].get(_NAME) for s in subjects if isinstance(s.get("annotations"), Mapping)
    }
    meta = _mapping(predicate.get("metadata"), "metadata")
    if not _text(meta, "name"):
        raise InvalidInput("the Chainloop predicate names no workflow (metadata.name)")
    materials = predicate.get("materials") or []
    if not isinstance(materials, list):
        raise InvalidInput("the Chainloop predicate's materials is not a list")
    runner: dict[str, Any] = {
        "type": _text(predicate, "runnerType"),
        "url": _text(predicate, "runnerUrl"),
    }
    env = _mapping(predicate.get("env"), "env")
    if env:
        runner["env"] = dict(env)
    builder = _mapping(predicate.get("builder"), "builder")
    return ChainloopPredicate(
        workflow=_workflow(meta),
        runner={k: v for k, v in runner.items() if v is not None},
        started_on=_text(meta, "initializedAt"),
        finished_on=_text(meta, "finishedAt"),
        builder=_text(builder, "id"),
        materials=tuple(_material(i, m, outputs) for i, m in enumerate(materials)),
        annotations=dict(_mapping(predicate.get("annotations"), "annotations")),
        policy_evaluations=_evaluations(predicate.get("policyEvaluations")),
        policy_strategy=_text(predicate, "policyCheckBlockingStrategy"),
        policy_blocked=predicate.get("policyAttBlocked") is True,
    )
