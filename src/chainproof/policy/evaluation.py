"""The record of one policy evaluated against one material (or the attestation).

Its JSON form (:meth:`PolicyEvaluation.to_dict`) is what the crafting state keeps and what
the statement's ``predicate.policyEvaluations`` holds, keyed by material name (attestation
policies under :data:`ATTESTATION_KEY`). Field names follow Chainloop's ``PolicyEvaluation``
so a reader of one predicate can read the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chainproof.policy.arguments import ArgValue
from chainproof.policy.engine import Violation

__all__ = ["ATTESTATION_KEY", "PolicyEvaluation"]

ATTESTATION_KEY = "CHAINPROOF.ATTESTATION"
"""Key of the attestation policies' evaluations in ``policyEvaluations``."""


@dataclass(frozen=True)
class PolicyEvaluation:
    """What one policy said about one material (``material_name`` None: the statement)."""

    name: str
    material_name: str | None
    kind: str
    violations: tuple[Violation, ...] = ()
    skipped: bool = False
    skip_reasons: tuple[str, ...] = ()
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    args: dict[str, ArgValue] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    group: dict[str, Any] | None = None
    requirements: tuple[str, ...] = ()
    gate: bool | None = None

    @property
    def passed(self) -> bool:
        """Evaluated (not skipped) and no violation."""
        return not self.skipped and not self.violations

    def to_dict(self) -> dict[str, Any]:
        """The predicate's JSON form (camelCase, as Chainloop's)."""
        out: dict[str, Any] = {
            "name": self.name,
            "materialName": self.material_name or "",
            "type": self.kind,
            "description": self.description,
            "annotations": dict(self.annotations),
            "with": dict(self.args),
            "violations": [{"subject": v.subject, "message": v.message} for v in self.violations],
            "skipped": self.skipped,
            "skipReasons": list(self.skip_reasons),
            "policyReference": dict(self.reference),
            "requirements": list(self.requirements),
        }
        if self.group is not None:
            out["groupReference"] = dict(self.group)
        if self.gate is not None:
            out["gate"] = self.gate
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyEvaluation:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            material_name=str(data.get("materialName") or "") or None,
            kind=str(data.get("type") or ""),
            violations=tuple(
                Violation(str(v.get("subject", "")), str(v.get("message", "")))
                for v in data.get("violations") or []
            ),
            skipped=bool(data.get("skipped", False)),
            skip_reasons=tuple(str(r) for r in data.get("skipReasons") or []),
            description=str(data.get("description") or ""),
            annotations=dict(data.get("annotations") or {}),
            args=dict(data.get("with") or {}),
            reference=dict(data.get("policyReference") or {}),
            group=dict(data["groupReference"]) if data.get("groupReference") else None,
            requirements=tuple(data.get("requirements") or ()),
            gate=data.get("gate"),
        )
