"""The one interface every evidence kind implements, and the crafted result it yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from chainproof.core.digest import Digest


@dataclass(frozen=True)
class CraftedMaterial:
    """A validated piece of evidence, ready to record in the crafting state.

    ``upload_path`` is the file whose bytes go to the CAS (None for STRING, for container
    images, which live in their registry, for ``skip_upload`` slots and for files held
    inline). ``value`` holds the inline value of a STRING; ``content`` the base64 bytes of a
    file embedded in the attestation because the organisation's CAS backend is ``inline``.
    ``summary`` is a small, kind-specific JSON object (component count, tool, spec version,
    ...) stored with the material for the dashboard and policies.
    """

    name: str
    kind: str
    digest: Digest
    size: int
    filename: str | None = None
    value: str | None = None
    upload_path: Path | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    output: bool = False
    content: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as kept in the crafting state and sent to the control plane."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "digest": str(self.digest),
            "size": self.size,
            "filename": self.filename,
            "value": self.value,
            "upload_path": str(self.upload_path) if self.upload_path else None,
            "annotations": dict(self.annotations),
            "summary": self.summary,
            "output": self.output,
        }
        if self.content is not None:  # only files held inline have it
            data["content"] = self.content
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CraftedMaterial:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            kind=data["kind"],
            digest=Digest.parse(data["digest"]),
            size=int(data["size"]),
            filename=data.get("filename"),
            value=data.get("value"),
            upload_path=Path(data["upload_path"]) if data.get("upload_path") else None,
            annotations=dict(data.get("annotations") or {}),
            summary=dict(data.get("summary") or {}),
            output=bool(data.get("output", False)),
            content=data.get("content"),
        )


class MaterialHandler(Protocol):
    """Validates and summarises one evidence kind.

    ``craft`` raises :class:`chainproof.errors.MaterialError` with a kind-specific message
    when ``value`` is not valid evidence of this kind. ``accepts`` is the cheap test used by
    kind detection; it must never raise.
    """

    kind: ClassVar[str]

    def craft(self, name: str, value: str) -> CraftedMaterial: ...

    def accepts(self, value: str) -> bool: ...
