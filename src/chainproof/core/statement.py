"""in-toto Statement v1 with the chainproof predicate (docs/architecture.md §5).

Materials are in-toto ResourceDescriptors (in-toto/attestation spec/v1/resource_descriptor.md)
whose annotations use ``chainproof.material.*`` keys; field names follow Chainloop's
``chainloop.dev/attestation/v0.2`` predicate where the meaning is the same.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.core.statement_materials import (
    ANNOTATION_PREFIX,
    CAS_ANNOTATION,
    FILENAME_ANNOTATION,
    INLINE_ANNOTATION,
    KIND_ANNOTATION,
    NAME_ANNOTATION,
    OUTPUT_ANNOTATION,
    SIZE_ANNOTATION,
    SUMMARY_ANNOTATION,
    MaterialDescriptor,
    malformed,
)
from chainproof.errors import InvalidInput

__all__ = [
    "ANNOTATION_PREFIX",
    "CAS_ANNOTATION",
    "FILENAME_ANNOTATION",
    "INLINE_ANNOTATION",
    "KIND_ANNOTATION",
    "NAME_ANNOTATION",
    "OUTPUT_ANNOTATION",
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "SIZE_ANNOTATION",
    "STATEMENT_TYPE",
    "SUMMARY_ANNOTATION",
    "MaterialDescriptor",
    "Statement",
    "canonical_json",
    "render_statement",
]

if TYPE_CHECKING:
    from chainproof.core.bundle import Bundle
    from chainproof.core.crafting import CraftingState
    from chainproof.core.dsse import Envelope
    from chainproof.core.materials.base import CraftedMaterial

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://chainproof.dev/attestation/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def canonical_json(data: Any) -> bytes:
    """The one serialisation chainproof signs and hashes.

    ``json.dumps(data, sort_keys=True, separators=(",", ":"))`` (so non-ASCII text is
    ``\\u`` escaped and the bytes are ASCII). Raises TypeError/ValueError for data that is
    not plain JSON (or contains NaN/Infinity, which JSON cannot carry).
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:  # naive times are UTC in chainproof, never local time
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Statement:
    """A validated in-toto Statement v1 (in-toto/attestation spec/v1/statement.md).

    Build with :meth:`from_json`; the constructor checks ``_type``, a non-empty ``subject``
    list of ResourceDescriptors each with a non-empty ``digest`` of string values, and a
    ``predicateType``, raising InvalidInput otherwise. The predicate is not interpreted here:
    callers check ``predicate_type`` before trusting its fields.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        if data.get("_type") != STATEMENT_TYPE:
            raise InvalidInput(f"not an in-toto Statement v1 (_type is {data.get('_type')!r})")
        subjects = data.get("subject")
        if not isinstance(subjects, list) or not subjects:
            raise InvalidInput("the statement has no subject")
        for i, subject in enumerate(subjects):
            digest = subject.get("digest") if isinstance(subject, Mapping) else None
            if not isinstance(digest, Mapping) or not digest:
                raise InvalidInput(f"statement subject {i} has no digest")
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in digest.items()):
                raise InvalidInput(f"statement subject {i} has a malformed digest")
        predicate_type = data.get("predicateType")
        if not isinstance(predicate_type, str) or not predicate_type:
            raise InvalidInput("the statement has no predicateType")
        predicate = data.get("predicate")
        if predicate is not None and not isinstance(predicate, Mapping):
            raise InvalidInput("the statement's predicate is not an object")
        try:
            self._data: dict[str, Any] = json.loads(canonical_json(data))  # a deep copy
        except (TypeError, ValueError) as err:
            raise InvalidInput(f"the statement is not plain JSON: {err}") from None

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> Statement:
        """Parse JSON text (a DSSE payload) or a decoded object."""
        if isinstance(data, str | bytes):
            try:
                data = jsonload.loads(data)
            except (ValueError, UnicodeDecodeError) as err:
                raise InvalidInput(f"the statement is not JSON: {err}") from None
        if not isinstance(data, Mapping):
            raise InvalidInput("the statement is not a JSON object")
        return cls(data)

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> Statement:
        """The statement a DSSE envelope carries (its payload type must be in-toto's).

        Does not check the signature: that is the verifier's work (which reads the
        statement through here too).
        """
        if envelope.payload_type != PAYLOAD_TYPE:
            raise InvalidInput(
                f"the DSSE payload type is {envelope.payload_type!r}, not {PAYLOAD_TYPE}"
            )
        return cls.from_json(envelope.payload)

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> Statement:
        """The statement of a DSSE bundle (InvalidInput for a message-signature bundle)."""
        return cls.from_envelope(bundle.envelope)

    def to_dict(self) -> dict[str, Any]:
        """The statement as a plain JSON object (a deep copy)."""
        result: dict[str, Any] = json.loads(canonical_json(self._data))
        return result

    def to_json(self) -> bytes:
        """Canonical JSON bytes: what a signer puts in the DSSE payload."""
        return canonical_json(self._data)

    @property
    def predicate_type(self) -> str:
        """The predicate's type URI."""
        return str(self._data["predicateType"])

    @property
    def predicate(self) -> dict[str, Any]:
        """The predicate object ({} when absent)."""
        predicate = self._data.get("predicate")
        return dict(predicate) if isinstance(predicate, Mapping) else {}

    @property
    def subjects(self) -> list[dict[str, Any]]:
        """The subject ResourceDescriptors."""
        return [dict(s) for s in self._data["subject"]]

    @property
    def workflow_run_id(self) -> str | None:
        """The run this statement attests (``predicate.workflow.runID``), if it says."""
        workflow = self.predicate.get("workflow")
        run = workflow.get("runID") if isinstance(workflow, Mapping) else None
        return str(run) if run else None

    @cached_property
    def materials(self) -> tuple[MaterialDescriptor, ...]:
        """The chainproof predicate's materials, parsed (:meth:`MaterialDescriptor.parse`).

        Raises InvalidInput when one is malformed, or when the predicate is not chainproof's
        (other predicates' materials mean other things).
        """
        if self.predicate_type != PREDICATE_TYPE:
            raise InvalidInput(
                f"the predicate is {self.predicate_type!r}, not a chainproof attestation"
            )
        items = self.predicate.get("materials") or []
        if not isinstance(items, list):
            raise malformed("the predicate's materials is not a list")
        return tuple(MaterialDescriptor.parse(item, i) for i, item in enumerate(items))

    def material_digests(self) -> dict[str, Digest]:
        """Material name → digest (sha256 preferred) from a chainproof predicate.

        Raises InvalidInput when a material descriptor is malformed.
        """
        return {m.name: m.digest for m in self.materials}


def _descriptor(material: CraftedMaterial) -> dict[str, Any]:
    """A material as an in-toto ResourceDescriptor (spec/v1/resource_descriptor.md).

    ``content`` is the resource's bytes, base64 in JSON: a STRING material's inline value, or
    a file held inline (annotation ``chainproof.material.inline``: the organisation's CAS
    backend is ``inline``). chainproof's own keys are written last, so a material's
    annotations cannot spoof them.
    """
    annotations = {str(k): str(v) for k, v in material.annotations.items()}
    annotations.update(
        {
            NAME_ANNOTATION: material.name,
            KIND_ANNOTATION: material.kind,
            SIZE_ANNOTATION: str(material.size),
            CAS_ANNOTATION: "true" if material.upload_path is not None else "false",
            OUTPUT_ANNOTATION: "true" if material.output else "false",
        }
    )
    if material.content is not None:
        annotations[INLINE_ANNOTATION] = "true"
    if material.filename:
        annotations[FILENAME_ANNOTATION] = material.filename
    if material.summary:
        annotations[SUMMARY_ANNOTATION] = canonical_json(material.summary).decode()
    descriptor: dict[str, Any] = {
        "name": material.name,
        "digest": {material.digest.algorithm: material.digest.hex},
        "annotations": annotations,
    }
    if material.value is not None:
        descriptor["content"] = base64.b64encode(material.value.encode("utf-8")).decode()
    elif material.content is not None:
        descriptor["content"] = material.content
    return descriptor


def render_statement(
    state: CraftingState,
    *,
    finished_on: datetime,
    cli_version: str,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The in-toto Statement v1 of a crafting state (docs/architecture.md §5), as a JSON object.

    Deterministic: equal states and arguments give equal canonical JSON. Subjects are every
    output material (name = image repository or file name), ``git.head`` (sha1 of the
    commit) when the job ran in a git checkout, and always
    ``chainproof.workflow.<workflow name>``, whose sha256 is that of the canonical JSON of the
    predicate's ``workflow`` and ``materials`` (so every statement has a subject, bound to
    its evidence). ``policyEvaluations`` holds the material policies' results recorded at
    ``add``, keyed by material name; ``policyInputs`` the runtime policy inputs, when any were
    given. Attestation annotations are the contract's fixed
    values, then the ones recorded at init/add, then ``annotations`` (given at push); a
    contract's fixed value is never overridden. Does not check the contract: call
    ``state.check_complete`` first.
    """
    wf = state.workflow
    workflow = {
        "org": state.org,
        "project": wf.get("project"),
        "projectVersion": wf.get("project_version"),
        "name": wf.get("name"),
        "team": wf.get("team"),
        "workflowID": wf.get("id"),
        "runID": state.run_id,
        "contractName": state.contract_name,
        "contractRevision": state.contract_revision,
    }
    materials = [_descriptor(m) for _, m in sorted(state.materials.items())]
    all_annotations = {**state.annotations, **(annotations or {})}
    all_annotations.update({a.name: a.value for a in state.contract.annotations if a.value})
    predicate: dict[str, Any] = {
        "workflow": workflow,
        "runner": {
            "type": state.runner.type,
            "url": state.runner.url,
            "environment": state.runner.environment,
            "env": dict(sorted(state.runner.env.items())),
        },
        "startedOn": _rfc3339(state.started_on),
        "finishedOn": _rfc3339(finished_on),
        "materials": materials,
        "annotations": dict(sorted(all_annotations.items())),
        "git": state.git,
        "policyEvaluations": {n: e for n, e in sorted(state.policy_evaluations.items()) if e},
        "cli": {"version": cli_version},
    }
    if state.policy_inputs:  # only when given: statements without them stay as they were
        predicate["policyInputs"] = [dict(i) for i in state.policy_inputs]
    subjects: list[dict[str, Any]] = []
    for m in sorted(state.materials.values(), key=lambda m: m.name):
        if m.output:
            subjects.append(
                {
                    "name": m.filename or m.name,
                    "digest": {m.digest.algorithm: m.digest.hex},
                    "annotations": {NAME_ANNOTATION: m.name},
                }
            )
    if state.git and state.git.get("commit"):
        subjects.append({"name": "git.head", "digest": {"sha1": str(state.git["commit"])}})
    run_digest = hashlib.sha256(canonical_json({"workflow": workflow, "materials": materials}))
    subjects.append(
        {
            "name": f"chainproof.workflow.{wf.get('name')}",
            "digest": {"sha256": run_digest.hexdigest()},
        }
    )
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
    # Round-trip through canonical JSON: a plain, deterministic JSON object, nothing else.
    result: dict[str, Any] = json.loads(canonical_json(statement))
    return result
