"""EVIDENCE: any non-empty file; a JSON ``{"id", "data", "schema"?}`` envelope is recognised.

The envelope is Chainloop's custom-evidence form: ``id`` names the evidence type, ``schema``
optionally points at the JSON schema of ``data``. Both are recorded as annotations.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chainproof.core import jsonload
from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    digest_file,
    existing_file,
    read_head,
    sniff_json_object,
)
from chainproof.core.materials.base import CraftedMaterial

MAX_PARSE_BYTES = 16 * 1024 * 1024
"""Files larger than this are hashed but not inspected for the envelope."""

ID_ANNOTATION = ANNOTATION_PREFIX + "evidence.id"
SCHEMA_ANNOTATION = ANNOTATION_PREFIX + "evidence.schema"

_ID_HINT = re.compile(rb'"id"\s*:\s*"[^"]+"')
_DATA_HINT = re.compile(rb'"data"\s*:')


def _envelope(doc: Any) -> tuple[str, str | None] | None:
    """(id, schema) when ``doc`` is an evidence envelope."""
    if not isinstance(doc, dict) or "data" not in doc:
        return None
    ident, schema = doc.get("id"), doc.get("schema")
    if not isinstance(ident, str) or not ident:
        return None
    if schema is not None and not isinstance(schema, str):
        return None
    return ident, schema or None


class EvidenceHandler:
    """Hashes and uploads the file; extracts the envelope's id and schema when present."""

    kind: ClassVar[str] = "EVIDENCE"

    def accepts(self, value: str) -> bool:
        """Only JSON evidence envelopes: any other file is detected as ARTIFACT."""
        found = sniff_json_object(value, _ID_HINT, _DATA_HINT)
        if isinstance(found, dict):
            return _envelope(found) is not None
        return found

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing path, a directory or an empty file."""
        path = existing_file(self.kind, value)
        digest, size = digest_file(self.kind, path)
        annotations: dict[str, str] = {}
        summary: dict[str, Any] = {"envelope": False}
        head = read_head(value, 1024)
        looks_json = head is not None and head[0].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
        if size <= MAX_PARSE_BYTES and looks_json:
            try:
                doc = jsonload.loads(path.read_bytes().decode("utf-8-sig"))
            except (OSError, UnicodeDecodeError, ValueError):
                doc = None
            env = _envelope(doc)
            if env is not None:
                ident, schema = env
                annotations[ID_ANNOTATION] = ident
                summary = {"envelope": True, "id": ident}
                if schema:
                    annotations[SCHEMA_ANNOTATION] = schema
                    summary["schema"] = schema
        return CraftedMaterial(
            name=name,
            kind=self.kind,
            digest=digest,
            size=size,
            filename=path.name,
            upload_path=path.absolute(),
            annotations=annotations,
            summary=summary,
        )
