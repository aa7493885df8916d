"""STRING: the value itself is the evidence (a version, a ticket id, a URL)."""

from __future__ import annotations

from typing import ClassVar

from chainproof.core.digest import Digest
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

MAX_STRING_BYTES = 64 * 1024
"""A STRING travels inline in the attestation; anything bigger belongs in a file kind."""


class StringHandler:
    """Digest is the SHA-256 of the UTF-8 value; the value is kept inline, nothing is uploaded."""

    kind: ClassVar[str] = "STRING"

    def accepts(self, value: str) -> bool:
        """Any non-empty value that is small enough to inline."""
        return bool(value) and len(value.encode("utf-8", "surrogatepass")) <= MAX_STRING_BYTES

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for an empty or oversized value."""
        if not value:
            raise MaterialError(f"STRING material {name!r} needs a non-empty value")
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MaterialError(f"STRING material {name!r} is not valid Unicode text") from exc
        if len(data) > MAX_STRING_BYTES:
            raise MaterialError(
                f"STRING material {name!r} is {len(data)} bytes; the limit is {MAX_STRING_BYTES}",
                hint="store large values in a file and add it as ARTIFACT or EVIDENCE",
            )
        return CraftedMaterial(
            name=name, kind=self.kind, digest=Digest.of_bytes(data), size=len(data), value=value
        )
