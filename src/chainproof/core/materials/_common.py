"""Helpers shared by the file-based evidence kinds: file checks, JSON loading, sniffing.

Everything here raises :class:`chainproof.errors.MaterialError` with a message that names the
kind and the file, never a bare ``OSError`` or ``json.JSONDecodeError``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.errors import MaterialError

ANNOTATION_PREFIX = "chainproof.material."
"""Every annotation a handler sets starts with this (docs/architecture.md §5)."""

SNIFF_BYTES = 64 * 1024
"""How much of a file ``accepts`` reads to recognise a format."""


def existing_file(kind: str, value: str) -> Path:
    """The regular, non-empty file named by ``value``.

    Raises MaterialError saying whether the path is missing, a directory, unreadable or empty.
    """
    if not value:
        raise MaterialError(f"{kind} needs a file path, got an empty value")
    path = Path(value)
    try:
        if not path.exists():
            raise MaterialError(f"{kind}: file {value} does not exist", hint="check the path")
        if path.is_dir():
            raise MaterialError(
                f"{kind}: {value} is a directory, not a file", hint="pass one file per material"
            )
        if not path.is_file():
            raise MaterialError(f"{kind}: {value} is not a regular file")
        size = path.stat().st_size
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {value}: {exc.strerror or exc}") from exc
    if size == 0:
        raise MaterialError(f"{kind}: {value} is empty", hint="evidence files must have content")
    return path


def digest_file(kind: str, path: Path) -> tuple[Digest, int]:
    """Streamed SHA-256 and size of ``path``; MaterialError if it cannot be read."""
    try:
        return Digest.of_file(path)
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {path}: {exc.strerror or exc}") from exc


def read_document(kind: str, path: Path) -> tuple[Digest, int, str]:
    """Digest, size and UTF-8 text (a BOM is tolerated) of a file that will be parsed.

    Kinds that parse their file read it once: the digest is of the very bytes validated (a
    file rewritten between hashing and parsing cannot pass as valid). MaterialError when the
    file cannot be read or is not UTF-8.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return Digest.of_bytes(data), len(data), data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MaterialError(
            f"{path.name} is not a {kind_label(kind)} document: not UTF-8 text (byte {exc.start})"
        ) from exc


def read_document_bytes(kind: str, path: Path) -> tuple[Digest, int, bytes]:
    """Digest, size and bytes of a file that will be parsed, read once (as
    :func:`read_document`, for formats that are not always UTF-8)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {path}: {exc.strerror or exc}") from exc
    return Digest.of_bytes(data), len(data), data


def parse_json(label: str, path: Path, text: str) -> Any:
    """``json.loads(text)`` with errors rewritten as ``<file> is not a valid <label>: not JSON at
    line L column C: <reason>``."""
    try:
        return jsonload.loads(text)
    except json.JSONDecodeError as exc:
        raise MaterialError(
            f"{path.name} is not a valid {label} document: not JSON at line {exc.lineno} "
            f"column {exc.colno}: {exc.msg}",
            hint="the file may be truncated or not JSON at all",
        ) from exc
    except jsonload.JsonError as exc:
        raise MaterialError(
            f"{path.name} is not a valid {label} document: {exc.message}", hint=exc.hint
        ) from None


def kind_label(kind: str) -> str:
    """A human name for a kind, for messages."""
    return _LABELS.get(kind, kind)


_LABELS = {
    "SBOM_CYCLONEDX_JSON": "CycloneDX JSON",
    "SBOM_SPDX_JSON": "SPDX JSON",
    "EVIDENCE": "evidence",
    "ARTIFACT": "artifact",
}


def read_head(value: str, size: int = SNIFF_BYTES) -> tuple[bytes, bool] | None:
    """The first ``size`` bytes of the file ``value`` and whether that is the whole file.

    None when ``value`` is not a readable regular file. Never raises (used by ``accepts``).
    """
    try:
        path = Path(value)
        if not value or not path.is_file():
            return None
        with open(path, "rb") as fh:
            head = fh.read(size + 1)
    except (OSError, ValueError):
        return None
    return head[:size], len(head) <= size


def sniff_json_object(value: str, *patterns: re.Pattern[bytes]) -> dict[str, Any] | bool:
    """Cheap format test for JSON files.

    Returns the parsed object when the whole file fits in :data:`SNIFF_BYTES` and is a JSON
    object, else True/False for whether every one of ``patterns`` occurs in the file's head
    (large files are never parsed here: ``craft`` parses once). Never raises.
    """
    got = read_head(value)
    if got is None:
        return False
    head, complete = got
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return False
    if complete:
        try:
            doc = jsonload.loads(head.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            return all(p.search(head) for p in patterns)
        return doc if isinstance(doc, dict) else False
    return all(p.search(head) for p in patterns)


def detect_document_kind(doc: Any) -> str | None:
    """Which SBOM format a parsed JSON document claims to be, if any (for wrong-kind errors)."""
    if not isinstance(doc, dict):
        return None
    if doc.get("bomFormat") == "CycloneDX":
        return "SBOM_CYCLONEDX_JSON"
    if isinstance(doc.get("spdxVersion"), str) or doc.get("SPDXID") == "SPDXRef-DOCUMENT":
        return "SBOM_SPDX_JSON"
    return None


def tools_annotation(tools: list[dict[str, str | None]]) -> str:
    """JSON array of ``name@version`` (or ``name``), Chainloop's ``material.tools`` form."""
    return json.dumps(
        [f"{t['name']}@{t['version']}" if t.get("version") else str(t["name"]) for t in tools]
    )


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (enum lists can be long)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
