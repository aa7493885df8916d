"""Crafting rules: which contract slot a piece of evidence fills, what it is called, and which
evidence the CLI gathers by itself.

Pure decisions on the crafting state: reading files, uploading and recording are the client's
(:mod:`chainproof.client.attestation`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from chainproof.core.contract import Contract
from chainproof.core.crafting import CraftingState
from chainproof.errors import InvalidInput

__all__ = [
    "AI_CONFIG_KIND",
    "COLLECTORS",
    "PR_INFO_MATERIAL",
    "automatic_documents",
    "automatic_name",
    "document_names",
    "material_kind",
    "wants_ai_config",
]

PR_INFO_MATERIAL = "pr-info"
"""Name of the PR_INFO material ``init`` adds when the contract has no PR_INFO slot."""

AI_CONFIG_KIND = "CHAINLOOP_AI_AGENT_CONFIG"
COLLECTORS = ("aiconfig",)
"""What ``attestation init --collectors`` may gather besides PR_INFO (Chainloop's names)."""

NAME_LENGTH = 50
"""Longest name derived from a file name (before a ``-N`` suffix)."""

_UNNAMED_KINDS = ("STRING", "CONTAINER_IMAGE")
"""Kinds whose value is not a file name: their materials are named after the kind."""


def material_kind(state: CraftingState, name: str, kind: str | None) -> str | None:
    """The kind the evidence called ``name`` is crafted as: ``kind``, else its slot's.

    None means "detect it" (only for a slot-less name with no kind, which is refused).
    Raises InvalidInput for a name the contract lacks when no kind is given (a typo must not
    silently become an extra material) and for a kind that contradicts the slot's.
    """
    spec = state.spec_for(name)
    if spec is None and kind is None:
        slots = ", ".join(m.name for m in state.contract.materials) or "none"
        raise InvalidInput(
            f"contract {state.contract_name} has no material named {name!r} (it has: {slots})",
            hint="use one of the contract's names; give --kind to add an extra material, "
            "or leave out --name to have the kind detected",
        )
    if spec is not None and kind and kind != spec.kind:
        raise InvalidInput(
            f"material {name} is a {spec.kind} in contract {state.contract_name}, not {kind}",
            hint="drop --kind to use the contract's kind",
        )
    return kind or (spec.kind if spec else None)


def automatic_name(state: CraftingState, kind: str, value: str) -> str:
    """The first empty contract slot of ``kind``, else a free DNS-label name from the file."""
    for slot in state.contract.materials:
        if slot.kind == kind and slot.name not in state.materials:
            return slot.name
    stem = PurePath(value).name.split(".")[0] if kind not in _UNNAMED_KINDS else ""
    base = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:NAME_LENGTH]
    base = base or kind.lower().replace("_", "-")
    taken = set(state.materials) | {m.name for m in state.contract.materials}
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def document_names(name: str, count: int) -> list[str]:
    """Names of the ``count`` documents of an exploded archive: ``name``, ``name-1``, ..."""
    return [name if i == 0 else f"{name}-{i}" for i in range(count)]


def wants_ai_config(contract: Contract, collectors: tuple[str, ...]) -> bool:
    """Whether ``init`` collects the AI agent configuration: asked for, or a slot needs it."""
    return "aiconfig" in collectors or any(m.kind == AI_CONFIG_KIND for m in contract.materials)


def automatic_documents(
    contract: Contract,
    pull_request: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    ai_configs: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(name, kind, document) of the evidence ``init`` records by itself.

    The pull or merge request (when the job runs for one) fills every PR_INFO slot, or an
    extra material called :data:`PR_INFO_MATERIAL` when the contract has none; the runner
    context fills every RUNNER_CONTEXT slot. The AI agent configurations ({agent: document},
    ``core.ai_config.collect``) fill the CHAINLOOP_AI_AGENT_CONFIG slots in agent order; the
    others become extra materials named ``ai-agent-config-<agent>``.
    """
    documents: list[tuple[str, str, Mapping[str, Any]]] = []
    if pull_request is not None:
        slots = [m.name for m in contract.materials if m.kind == "PR_INFO"]
        documents.extend((name, "PR_INFO", pull_request) for name in slots or [PR_INFO_MATERIAL])
    runner_slots = [m.name for m in contract.materials if m.kind == "RUNNER_CONTEXT"]
    documents.extend((name, "RUNNER_CONTEXT", context) for name in runner_slots)
    ai_slots = [m.name for m in contract.materials if m.kind == AI_CONFIG_KIND]
    others = {m.name for m in contract.materials if m.kind != AI_CONFIG_KIND}
    for agent, doc in sorted((ai_configs or {}).items()):
        name = ai_slots.pop(0) if ai_slots else f"ai-agent-config-{agent}"
        if name not in others:  # a slot of another kind keeps its name
            documents.append((name, AI_CONFIG_KIND, doc))
    return documents
