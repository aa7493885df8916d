"""in-toto Statement v1 with the chainproof predicate (DESIGN.md §5).

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
from typing import TYPE_CHECKING, Any

from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput

if TYPE_CHECKING:
    from chainproof.core.crafting import CraftingState
    from chainproof.core.materials.base import CraftedMaterial

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://chainproof.dev/attestation/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
ANNOTATION_PREFIX = "chainproof.material."


def canonical_json(data: Any) -> bytes:
    """The one serialisation chainproof signs and hashes: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Statement:
    """A validated in-toto Statement v1. Build with :meth:`from_json`."""

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
        if not isinstance(data.get("predicateType"), str):
            raise InvalidInput("the statement has no predicateType")
        self._data = dict(data)

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> Statement:
        """Parse JSON text (a DSSE payload) or a decoded object."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except (ValueError, UnicodeDecodeError) as err:
                raise InvalidInput(f"the statement is not JSON: {err}") from None
        if not isinstance(data, Mapping):
            raise InvalidInput("the statement is not a JSON object")
        return cls(data)

    def to_dict(self) -> dict[str, Any]:
        """The statement as a plain JSON object."""
        return dict(self._data)

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
        """The run this statement attests, from a chainproof predicate."""
        run = (self.predicate.get("workflow") or {}).get("runID")
        return str(run) if run else None

    def material_digests(self) -> dict[str, Digest]:
        """Material name → digest, from a chainproof predicate."""
        out = {}
        for item in self.predicate.get("materials") or []:
            digests = item.get("digest") or {}
            alg = "sha256" if "sha256" in digests else next(iter(digests), None)
            if alg:
                out[str(item.get("name"))] = Digest(alg, str(digests[alg]))
        return out


def _descriptor(material: CraftedMaterial) -> dict[str, Any]:
    annotations = {
        **{k: str(v) for k, v in material.annotations.items()},
        ANNOTATION_PREFIX + "name": material.name,
        ANNOTATION_PREFIX + "kind": material.kind,
        ANNOTATION_PREFIX + "size": str(material.size),
        ANNOTATION_PREFIX + "cas": "true" if material.upload_path is not None else "false",
        ANNOTATION_PREFIX + "output": "true" if material.output else "false",
    }
    if material.filename:
        annotations[ANNOTATION_PREFIX + "filename"] = material.filename
    if material.summary:
        annotations[ANNOTATION_PREFIX + "summary"] = canonical_json(material.summary).decode()
    descriptor: dict[str, Any] = {
        "name": material.name,
        "digest": {material.digest.algorithm: material.digest.hex},
        "annotations": annotations,
    }
    if material.value is not None:
        descriptor["content"] = base64.b64encode(material.value.encode()).decode()
    return descriptor


def render_statement(
    state: CraftingState,
    *,
    finished_on: datetime,
    cli_version: str,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The in-toto Statement of a finished crafting state, deterministic for equal input."""
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
    all_annotations = {a.name: a.value for a in state.contract.annotations if a.value}
    all_annotations.update(state.annotations)
    all_annotations.update(annotations or {})
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
        "annotations": all_annotations,
        "git": state.git,
        "policyEvaluations": {},
        "cli": {"version": cli_version},
    }
    subjects = []
    for m in sorted(state.materials.values(), key=lambda m: m.name):
        if m.output:
            subjects.append(
                {
                    "name": m.filename or m.name,
                    "digest": {m.digest.algorithm: m.digest.hex},
                    "annotations": {ANNOTATION_PREFIX + "name": m.name},
                }
            )
    if state.git and state.git.get("commit"):
        subjects.append({"name": "git.head", "digest": {"sha1": state.git["commit"]}})
    # Always one subject, even with no outputs: the run itself, bound to its evidence.
    run_digest = hashlib.sha256(canonical_json({"workflow": workflow, "materials": materials}))
    subjects.append(
        {
            "name": f"chainproof.workflow.{wf.get('name')}",
            "digest": {"sha256": run_digest.hexdigest()},
        }
    )
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
