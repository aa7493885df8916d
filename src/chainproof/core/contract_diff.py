"""What changed between two revisions of a contract, and what a newer one newly requires.

Pure: both sides are :class:`~chainproof.core.contract.Contract` objects (the control plane
stores each revision's normal form). A :class:`Change` is one line of the diff: its section
(``materials``, ``runner``, ``env``, ``policies``, ``annotations``), the thing changed, an
``op`` (``+`` added, ``-`` removed, ``~`` changed), a ``detail`` for people, and whether it
adds a requirement a job must now meet (``requirement``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chainproof.core.contract import Contract, MaterialSpec

__all__ = ["SECTIONS", "Change", "diff", "new_requirements", "plain_words"]

SECTIONS = ("materials", "runner", "env", "policies", "annotations")
_MATERIAL_FIELDS = ("kind", "optional", "output", "skip_upload", "group", "annotations")


@dataclass(frozen=True)
class Change:
    """One difference between two revisions."""

    section: str
    op: str  # "+", "-" or "~"
    name: str
    detail: str
    requirement: bool = False
    summary: str = ""  # plain words for a job log, when ``detail`` is not them

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        """Inverse of :meth:`to_dict` (an API answer's change)."""
        return cls(
            section=str(data.get("section", "")),
            op=str(data.get("op", "")),
            name=str(data.get("name", "")),
            detail=str(data.get("detail") or ""),
            requirement=bool(data.get("requirement")),
            summary=str(data.get("summary") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "op": self.op,
            "name": self.name,
            "detail": self.detail,
            "requirement": self.requirement,
            "summary": self.summary,
        }


def diff(old: Contract, new: Contract) -> list[Change]:
    """Every change from ``old`` to ``new``, by section in :data:`SECTIONS` order."""
    return [
        *_materials(old, new),
        *_runner(old, new),
        *_env(old, new),
        *_policies(old, new),
        *_annotations(old, new),
    ]


def new_requirements(old: Contract, new: Contract) -> list[Change]:
    """What ``new`` requires that ``old`` did not: the diff's requirement lines."""
    return [c for c in diff(old, new) if c.requirement]


def plain_words(changes: list[Change]) -> str:
    """``material "dockerfile" (ARTIFACT), policy "sbom-ntia"``: requirements for a job log."""
    return ", ".join(f'{_WORDS[c.section]} "{c.name}"{_suffix(c)}' for c in changes)


_WORDS = {
    "materials": "material",
    "runner": "runner",
    "env": "environment variable",
    "policies": "policy",
    "annotations": "annotation",
}


def _suffix(change: Change) -> str:
    words = change.summary or change.detail
    return f" ({words})" if words else ""


# -- materials ------------------------------------------------------------------------------
def _required(m: MaterialSpec) -> bool:
    return not m.optional and m.group is None


def _material_fields(m: MaterialSpec) -> dict[str, Any]:
    return {
        "kind": m.kind,
        "optional": m.optional,
        "output": m.output,
        "skip_upload": m.skip_upload,
        "group": m.group,
        "annotations": {a.name: a.value for a in m.annotations},
    }


def _materials(old: Contract, new: Contract) -> list[Change]:
    before = {m.name: m for m in old.materials}
    out: list[Change] = []
    for m in new.materials:
        was = before.get(m.name)
        if was is None:
            detail = m.kind if _required(m) else f"{m.kind}, {_how_optional(m)}"
            out.append(Change("materials", "+", m.name, detail, requirement=_required(m)))
            continue
        a, b = _material_fields(was), _material_fields(m)
        changed = [f"{k}: {_show(a[k])} → {_show(b[k])}" for k in _MATERIAL_FIELDS if a[k] != b[k]]
        if changed:
            tighter = _required(m) and (
                not _required(was) or was.kind != m.kind or _new_annotation_demands(was, m)
            )
            detail = "; ".join(changed)
            summary = f"{m.kind}, now required" if tighter else ""
            out.append(Change("materials", "~", m.name, detail, tighter, summary))
    names = {m.name for m in new.materials}
    out += [Change("materials", "-", m.name, m.kind) for m in old.materials if m.name not in names]
    return out


def _how_optional(m: MaterialSpec) -> str:
    return f"group {m.group}" if m.group else "optional"


def _new_annotation_demands(old: MaterialSpec, new: MaterialSpec) -> bool:
    before = {a.name: a.value for a in old.annotations}
    return any(a.name not in before or before[a.name] != a.value for a in new.annotations)


# -- runner and environment -----------------------------------------------------------------
def _runner(old: Contract, new: Contract) -> list[Change]:
    a, b = old.runner_type, new.runner_type
    if a == b:
        return []
    if a is None:
        return [Change("runner", "+", str(b), "", requirement=True)]
    if b is None:
        return [Change("runner", "-", a, "any runner now")]
    return [Change("runner", "~", b, f"was {a}", requirement=True)]


def _env(old: Contract, new: Contract) -> list[Change]:
    before, after = set(old.env_allow_list), set(new.env_allow_list)
    out = [
        Change("env", "+", n, "", requirement=True) for n in new.env_allow_list if n not in before
    ]
    out += [Change("env", "-", n, "") for n in old.env_allow_list if n not in after]
    return out


# -- policies -------------------------------------------------------------------------------
def _attachments(contract: Contract) -> dict[str, dict[str, Any]]:
    """Each policy attachment (and policy group) under a readable, unique key."""
    out: dict[str, dict[str, Any]] = {}
    items = [
        *(
            (f"{s}", a)
            for s in ("materials", "attestation")
            for a in contract.policies.get(s) or []
        ),
        *(("group", g) for g in contract.policy_groups),
    ]
    for scope, att in items:
        base = _policy_name(att)
        if scope == "group":
            base = f"group {base}"
        key, n = base, 2
        while key in out:
            key, n = f"{base} #{n}", n + 1
        out[key] = {"scope": scope, **att}
    return out


def _policy_name(att: dict[str, Any]) -> str:
    if "ref" in att:
        return str(att["ref"])
    embedded = att.get("embedded") or {}
    meta = embedded.get("metadata") if isinstance(embedded, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name or "embedded")


def _policies(old: Contract, new: Contract) -> list[Change]:
    before, after = _attachments(old), _attachments(new)
    out: list[Change] = []
    for key, att in after.items():
        was = before.get(key)
        if was is None:
            out.append(Change("policies", "+", key, _policy_detail(att), requirement=True))
        elif was != att:
            changed = [
                f"{k}: {_show(was.get(k))} → {_show(att.get(k))}"
                for k in sorted(set(was) | set(att))
                if was.get(k) != att.get(k)
            ]
            out.append(Change("policies", "~", key, "; ".join(changed), requirement=True))
    out += [
        Change("policies", "-", k, _policy_detail(a)) for k, a in before.items() if k not in after
    ]
    return out


def _policy_detail(att: dict[str, Any]) -> str:
    parts = [] if att["scope"] == "group" else [f"on {att['scope']}"]
    if att.get("with"):
        parts.append("with " + ", ".join(f"{k}={v}" for k, v in sorted(att["with"].items())))
    if "gate" in att:
        parts.append("gate" if att["gate"] else "no gate")
    return ", ".join(parts)


# -- annotations ----------------------------------------------------------------------------
def _annotations(old: Contract, new: Contract) -> list[Change]:
    before = {a.name: a.value for a in old.annotations}
    after = {a.name: a.value for a in new.annotations}
    out: list[Change] = []
    for name, value in after.items():
        if name not in before:
            detail = f"= {value}" if value else "value required"
            out.append(Change("annotations", "+", name, detail, requirement=True))
        elif before[name] != value:
            detail = f"value: {_show(before[name] or None)} → {_show(value or None)}"
            out.append(Change("annotations", "~", name, detail, requirement=True))
    out += [Change("annotations", "-", n, "") for n in before if n not in after]
    return out


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)
