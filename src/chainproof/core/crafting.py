"""The crafting state of an open attestation: what init recorded and what add collected.

It lives in one JSON file between CLI invocations (docs/architecture.md §6), so init, add
and push can run in different CI steps. Pure: no HTTP; the client moves it to and from the
control plane.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from chainproof.core import jsonload
from chainproof.core.contract import Contract, MaterialSpec
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.runners.base import RunnerContext
from chainproof.errors import ContractNotSatisfied, InvalidInput, MaterialError, NotFound

__all__ = ["STATE_VERSION", "CraftingState"]

STATE_VERSION = 1


@dataclass(kw_only=True)
class CraftingState:
    """Everything needed to render and sign the attestation of one run.

    ``workflow`` holds ``id``, ``name``, ``project``, ``project_version`` and ``team``;
    ``org`` is the organisation's name; ``git`` is :func:`chainproof.client.git.head_info`'s
    answer (None outside a git checkout). ``policy_evaluations`` maps a material's name to
    the JSON form of its policy evaluations (``chainproof.policy.PolicyEvaluation``).
    ``policy_inputs`` are the runtime policy inputs (``--policy-input``), in the JSON form of
    ``chainproof.policy.runtime.RuntimeInputs.to_list``, recorded in the predicate.
    ``allowed_hostnames`` are the hosts policies' ``http.send`` may reach where the CLI
    evaluates (the organisation's, and ``--allowed-hostnames``).
    ``pending_push`` is what a push signed and is sending (``bundle``, ``idempotency_key``,
    ``public_key``, ``materials``), kept so that a retried push resends exactly that.
    """

    version: int = STATE_VERSION
    server_url: str
    org: str
    run_id: str
    workflow: dict[str, Any]
    contract_name: str
    contract_revision: int
    contract: Contract
    runner: RunnerContext
    started_on: datetime
    materials: dict[str, CraftedMaterial] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    policy_evaluations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    policy_inputs: list[dict[str, str]] = field(default_factory=list)
    allowed_hostnames: list[str] = field(default_factory=list)
    pending_push: dict[str, Any] | None = None

    # -- materials ------------------------------------------------------------------------
    def spec_for(self, name: str) -> MaterialSpec | None:
        """The contract slot called ``name``, or None for an extra material."""
        return self.contract.material(name)

    def add_material(
        self,
        crafted: CraftedMaterial,
        annotations: Mapping[str, str] | None = None,
        *,
        kind_explicit: bool = True,
    ) -> CraftedMaterial:
        """Record a crafted material under its contract slot; return what was recorded.

        For a name in the contract: the kind must be the slot's, ``output`` comes from the
        slot, a ``skip_upload`` slot drops ``upload_path``, and the slot's annotations are
        applied: a fixed value cannot be changed, an empty one must be given in
        ``annotations``. Other runtime annotations are added. A name that is not in the
        contract is an extra material, allowed only when the caller was told its kind
        (``kind_explicit``), so that a typo in a name does not become an extra material.
        Adding a name again replaces the earlier material and drops its policy evaluations.
        A bundle an interrupted push signed is dropped. Raises MaterialError.
        """
        runtime = {str(k): str(v) for k, v in (annotations or {}).items()}
        spec = self.spec_for(crafted.name)
        merged = dict(crafted.annotations)
        if spec is None:
            if not kind_explicit:
                slots = ", ".join(m.name for m in self.contract.materials) or "none"
                raise MaterialError(
                    f"contract {self.contract_name} has no material named {crafted.name!r} "
                    f"(it has: {slots})",
                    hint="use one of the contract's names, or give --kind to add an extra material",
                )
        else:
            if spec.kind != crafted.kind:
                raise MaterialError(
                    f"material {crafted.name} must be a {spec.kind} (contract "
                    f"{self.contract_name}), not {crafted.kind}"
                )
            unset = []
            for ann in spec.annotations:
                given = runtime.pop(ann.name, None)
                if ann.value and given is not None and given != ann.value:
                    raise MaterialError(
                        f"annotation {ann.name} of material {crafted.name} is fixed by the "
                        f"contract to {ann.value!r}; it cannot be set to {given!r}"
                    )
                value = ann.value or given
                if value:
                    merged[ann.name] = value
                else:
                    unset.append(ann.name)
            if unset:
                raise MaterialError(
                    f"material {crafted.name} needs a value for annotation(s) "
                    f"{', '.join(unset)} (contract {self.contract_name})",
                    hint="pass " + " ".join(f"--annotation {n}=VALUE" for n in unset),
                )
        merged.update(runtime)
        recorded = replace(
            crafted,
            annotations=merged,
            output=spec.output if spec is not None else crafted.output,
            upload_path=None if spec is not None and spec.skip_upload else crafted.upload_path,
        )
        self.materials[recorded.name] = recorded
        self.policy_evaluations.pop(recorded.name, None)
        self.pending_push = None  # signed without this material: a push signs anew
        return recorded

    # -- completeness ---------------------------------------------------------------------
    def missing(self, push_annotations: Mapping[str, str] | None = None) -> list[str]:
        """What the contract still needs, one human-readable line per gap, in contract order.

        Required materials not added (name and kind), groups none of whose members was
        added, attestation annotations the contract leaves empty and nobody supplied, and
        supplied annotations that try to change a value the contract fixed.
        """
        gaps = [
            f"material {m.name} ({m.kind})"
            for m in self.contract.materials
            if not m.optional and m.group is None and m.name not in self.materials
        ]
        for group, members in self.contract.groups().items():
            if not any(m.name in self.materials for m in members):
                names = ", ".join(f"{m.name} ({m.kind})" for m in members)
                gaps.append(f"at least one material of group {group}: {names}")
        given = {**self.annotations, **(push_annotations or {})}
        for a in self.contract.annotations:
            value = given.get(a.name)
            if not a.value and not value:
                gaps.append(f"annotation {a.name}")
            elif a.value and value is not None and value != a.value:
                gaps.append(
                    f"annotation {a.name} is fixed by the contract to {a.value!r}, not {value!r}"
                )
        return gaps

    def check_complete(self, push_annotations: Mapping[str, str] | None = None) -> None:
        """Return if the contract is satisfied; else raise ContractNotSatisfied naming every
        gap, with the commands that fill them as the hint (``details["missing"]`` lists them).
        """
        gaps = self.missing(push_annotations)
        if not gaps:
            return
        commands = [
            f"chainproof attestation add --name {m.name} --value <{m.kind}>"
            for m in self.contract.materials
            if not m.optional and m.group is None and m.name not in self.materials
        ]
        for members in self.contract.groups().values():
            if not any(m.name in self.materials for m in members):
                m = members[0]
                commands.append(f"chainproof attestation add --name {m.name} --value <{m.kind}>")
        given = {**self.annotations, **(push_annotations or {})}
        empty = [a.name for a in self.contract.annotations if not a.value and not given.get(a.name)]
        if empty:
            flags = " ".join(f"--annotation {n}=VALUE" for n in empty)
            commands.append(f"chainproof attestation push {flags}")
        raise ContractNotSatisfied(
            f"contract {self.contract_name} is not satisfied: {'; '.join(gaps)}",
            hint="run " + " && ".join(commands) if commands else None,
            missing=gaps,
        )

    # -- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the state file."""
        data = {
            "version": self.version,
            "server_url": self.server_url,
            "org": self.org,
            "run_id": self.run_id,
            "workflow": dict(self.workflow),
            "contract_name": self.contract_name,
            "contract_revision": self.contract_revision,
            "contract": self.contract.to_dict(),
            "runner": self.runner.to_dict(),
            "started_on": self.started_on.isoformat(),
            "materials": {n: m.to_dict() for n, m in sorted(self.materials.items())},
            "annotations": dict(self.annotations),
            "git": self.git,
            "policy_evaluations": {n: list(e) for n, e in sorted(self.policy_evaluations.items())},
        }
        if self.policy_inputs:
            data["policy_inputs"] = [dict(i) for i in self.policy_inputs]
        if self.allowed_hostnames:
            data["allowed_hostnames"] = list(self.allowed_hostnames)
        if self.pending_push is not None:
            data["pending_push"] = dict(self.pending_push)
        return data

    def to_json(self) -> str:
        """Indented, key-sorted JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CraftingState:
        """Inverse of :meth:`to_dict`; InvalidInput when a field is missing or malformed."""
        version = data.get("version")
        if version != STATE_VERSION:
            raise InvalidInput(
                f"the attestation state has version {version!r}; this chainproof reads "
                f"version {STATE_VERSION}",
                hint="finish the attestation with the chainproof that started it, or run "
                "`chainproof attestation init --replace`",
            )
        try:
            return cls(
                version=STATE_VERSION,
                server_url=str(data["server_url"]),
                org=str(data["org"]),
                run_id=str(data["run_id"]),
                workflow=dict(data["workflow"]),
                contract_name=str(data["contract_name"]),
                contract_revision=int(data["contract_revision"]),
                contract=Contract.from_dict(data["contract"]),
                runner=RunnerContext.from_dict(data["runner"]),
                started_on=datetime.fromisoformat(data["started_on"]),
                materials={
                    str(n): CraftedMaterial.from_dict(m) for n, m in dict(data["materials"]).items()
                },
                annotations={str(k): str(v) for k, v in dict(data["annotations"]).items()},
                git=dict(data["git"]) if data.get("git") is not None else None,
                policy_evaluations={
                    str(n): [dict(e) for e in evals]
                    for n, evals in dict(data.get("policy_evaluations") or {}).items()
                },
                policy_inputs=[
                    {str(k): str(v) for k, v in dict(i).items()}
                    for i in data.get("policy_inputs") or []
                ],
                allowed_hostnames=[str(h) for h in data.get("allowed_hostnames") or []],
                pending_push=dict(data["pending_push"]) if data.get("pending_push") else None,
            )
        except InvalidInput as err:
            raise InvalidInput(f"the attestation state is malformed: {err.message}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InvalidInput(f"the attestation state is malformed: {err!r}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> CraftingState:
        """Parse the state file's text; InvalidInput if it is not a valid state."""
        try:
            data = jsonload.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidInput(f"the attestation state is not JSON: {err}") from None
        if not isinstance(data, dict):
            raise InvalidInput("the attestation state is not a JSON object")
        return cls.from_dict(data)

    def save(self, path: Path | str) -> None:
        """Write the state atomically, readable by the owner only (mode 0600).

        A temporary file in the same directory is written, fsync'ed and renamed over
        ``path`` (``os.replace``), so a crash leaves the old state or the new one, never half.
        """
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    @classmethod
    def load(cls, path: Path | str) -> CraftingState:
        """Read a state file. NotFound when there is none, InvalidInput when it is corrupt."""
        try:
            text = Path(path).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"no attestation in progress (no state file at {path}), "
                "run `chainproof attestation init`",
                hint="run `chainproof attestation init` first, with the same --state-dir",
            ) from None
        except OSError as err:
            raise InvalidInput(f"cannot read the attestation state {path}: {err}") from None
        return cls.from_json(text)
