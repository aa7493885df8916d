"""The crafting state of an open attestation: what init recorded and what add collected.

It lives in one JSON file between CLI invocations (DESIGN.md §6), so init, add and push can
run in different CI steps. Pure: no HTTP; the client moves it to and from the control plane.
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

from chainproof.core.contract import Contract, MaterialSpec
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.runners.base import RunnerContext
from chainproof.errors import ContractNotSatisfied, InvalidInput, MaterialError, NotFound


@dataclass
class CraftingState:
    """Everything needed to render and sign the attestation of one run."""

    version: int
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

    def spec_for(self, name: str) -> MaterialSpec | None:
        """The contract slot called ``name``, if there is one."""
        return next((m for m in self.contract.materials if m.name == name), None)

    def add_material(
        self, crafted: CraftedMaterial, annotations: Mapping[str, str] | None = None
    ) -> CraftedMaterial:
        """Record a crafted material, applying its contract slot; returns what was recorded.

        Raises MaterialError when the kind differs from the slot's, when a runtime annotation
        tries to change a value the contract fixed, or when an annotation the contract leaves
        empty is not supplied.
        """
        runtime = dict(annotations or {})
        spec = self.spec_for(crafted.name)
        merged = {**crafted.annotations}
        if spec is not None:
            if spec.kind != crafted.kind:
                raise MaterialError(
                    f"material {crafted.name} must be a {spec.kind} (contract "
                    f"{self.contract_name}), got {crafted.kind}"
                )
            unset = []
            for ann in spec.annotations:
                given = runtime.pop(ann.name, None)
                if ann.value and given is not None and given != ann.value:
                    raise MaterialError(
                        f"annotation {ann.name} of material {crafted.name} is fixed by the "
                        f"contract to {ann.value!r}"
                    )
                value = ann.value or given
                if not value:
                    unset.append(ann.name)
                else:
                    merged[ann.name] = value
            if unset:
                raise MaterialError(
                    f"material {crafted.name} needs annotation(s) {', '.join(unset)}",
                    hint="pass them with " + " ".join(f"--annotation {n}=VALUE" for n in unset),
                )
        merged.update(runtime)
        recorded = replace(
            crafted,
            annotations=merged,
            output=spec.output if spec is not None else crafted.output,
            upload_path=None if spec is not None and spec.skip_upload else crafted.upload_path,
        )
        self.materials[recorded.name] = recorded
        return recorded

    def missing(self, push_annotations: Mapping[str, str] | None = None) -> list[str]:
        """What the contract still needs, one human-readable line per gap."""
        gaps = [
            f"material {m.name} ({m.kind})"
            for m in self.contract.materials
            if not m.optional and m.group is None and m.name not in self.materials
        ]
        groups: dict[str, list[MaterialSpec]] = {}
        for m in self.contract.materials:
            if m.group:
                groups.setdefault(m.group, []).append(m)
        for group, members in groups.items():
            if not any(m.name in self.materials for m in members):
                names = ", ".join(m.name for m in members)
                gaps.append(f"one material of group {group} ({names})")
        given = {**self.annotations, **(push_annotations or {})}
        gaps.extend(
            f"annotation {a.name}"
            for a in self.contract.annotations
            if not a.value and not given.get(a.name)
        )
        return gaps

    def check_complete(self, push_annotations: Mapping[str, str] | None = None) -> None:
        """Raise ContractNotSatisfied naming every gap; return when the contract is met."""
        gaps = self.missing(push_annotations)
        if gaps:
            raise ContractNotSatisfied(
                f"contract {self.contract_name} is not satisfied, missing: {'; '.join(gaps)}",
                hint="add materials with `chainproof attestation add --name NAME --value V` "
                "and attestation annotations with `attestation push --annotation NAME=VALUE`",
                missing=gaps,
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the state file."""
        return {
            "version": self.version,
            "server_url": self.server_url,
            "org": self.org,
            "run_id": self.run_id,
            "workflow": self.workflow,
            "contract_name": self.contract_name,
            "contract_revision": self.contract_revision,
            "contract": self.contract.to_dict(),
            "runner": self.runner.to_dict(),
            "started_on": self.started_on.isoformat(),
            "materials": {n: m.to_dict() for n, m in sorted(self.materials.items())},
            "annotations": self.annotations,
            "git": self.git,
        }

    def to_json(self) -> str:
        """Indented JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CraftingState:
        """Inverse of :meth:`to_dict`; InvalidInput when a field is missing or malformed."""
        try:
            return cls(
                version=int(data["version"]),
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
                    n: CraftedMaterial.from_dict(m) for n, m in dict(data["materials"]).items()
                },
                annotations=dict(data.get("annotations") or {}),
                git=data.get("git"),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"the attestation state is malformed: {err!r}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> CraftingState:
        """Parse the state file's text."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidInput(f"the attestation state is not JSON: {err}") from None
        if not isinstance(data, dict):
            raise InvalidInput("the attestation state is not a JSON object")
        return cls.from_dict(data)

    def save(self, path: Path) -> None:
        """Write atomically (temp file, fsync, rename), readable by the owner only."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json())
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> CraftingState:
        """Read the state file; NotFound with the next step when there is none."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFound(
                f"no attestation in progress (no state file at {path})",
                hint="run `chainproof attestation init` first",
            ) from None
        return cls.from_json(text)
