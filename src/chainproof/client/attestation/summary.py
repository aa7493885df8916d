"""What an attestation in progress holds and lacks, and what a pushed run's policies found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainproof.core.crafting import CraftingState

__all__ = ["status", "violations"]


def status(state: CraftingState) -> dict[str, Any]:
    """What the contract asks, what was added, what is still missing."""
    contract = state.contract
    slots = []
    for spec in contract.materials:
        got = state.materials.get(spec.name)
        slots.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "required": not spec.optional and spec.group is None,
                "group": spec.group,
                "output": spec.output,
                "added": got is not None,
                "digest": str(got.digest) if got else None,
            }
        )
    named = {s.name for s in contract.materials}
    extra = [
        {"name": m.name, "kind": m.kind, "digest": str(m.digest)}
        for m in state.materials.values()
        if m.name not in named
    ]
    annotations = [
        {
            "name": a.name,
            "value": state.annotations.get(a.name, a.value) or None,
            "required": not a.value,
        }
        for a in contract.annotations
    ]
    return {
        "run_id": state.run_id,
        "org": state.org,
        "server_url": state.server_url,
        "workflow": dict(state.workflow),
        "contract": {"name": state.contract_name, "revision": state.contract_revision},
        "runner": {"type": state.runner.type, "url": state.runner.url},
        "started_on": state.started_on.isoformat(),
        "materials": slots,
        "extra_materials": extra,
        "missing": list(state.missing()),
        "annotations": annotations,
    }


def violations(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The control plane's evaluations of a pushed run that found violations."""
    return [
        e
        for e in run.get("policy_evaluations") or []
        if e.get("violations") and not e.get("skipped")
    ]
