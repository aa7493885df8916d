"""Helpers shared by the JSON report kinds (scanners, VEX, specs): sniffing, loading, crafting.

Every function that reads a file raises :class:`chainproof.errors.MaterialError` naming the kind
and the file; the sniffing functions never raise (they serve ``accepts``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    SNIFF_BYTES,
    existing_file,
    parse_json,
    read_document,
    read_head,
    tools_annotation,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

TOOLS = ANNOTATION_PREFIX + "tools"
SCAN_TYPES = ANNOTATION_PREFIX + "scan.types"

_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"


def read_tail(value: str, size: int = SNIFF_BYTES) -> bytes | None:
    """The last ``size`` bytes of the file ``value``; None when it cannot be read. Never raises."""
    try:
        with open(value, "rb") as fh:
            fh.seek(0, 2)
            end = fh.tell()
            fh.seek(max(0, end - size))
            return fh.read(size)
    except (OSError, ValueError):
        return None


def sniff_json(
    value: str,
    opening: bytes,
    head_patterns: Iterable[re.Pattern[bytes]] = (),
    anywhere_patterns: Iterable[re.Pattern[bytes]] = (),
) -> Any:
    """Cheap test for JSON files whose first non-blank byte is ``opening`` (``{`` or ``[``).

    Returns the parsed document when the whole file fits in :data:`SNIFF_BYTES` (None if it is
    not JSON), else True/False for whether every ``head_patterns`` occurs in the head and every
    ``anywhere_patterns`` in the head or the tail (keys that reports write after a long list).
    False when the file is missing or does not start with ``opening``. Never raises.
    """
    got = read_head(value)
    if got is None:
        return False
    head, complete = got
    if not head.lstrip(_BOM_AND_SPACE).startswith(opening):
        return False
    if complete:
        try:
            return jsonload.loads(head.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            return None
    if not all(p.search(head) for p in head_patterns):
        return False
    tail = read_tail(value) or b""
    return all(p.search(head) or p.search(tail) for p in anywhere_patterns)


def load_json(kind: str, label: str, value: str) -> tuple[Path, Digest, int, Any]:
    """Path, digest, size and parsed JSON of the evidence file ``value``.

    MaterialError for a missing, empty, unreadable, non-UTF-8 or non-JSON (e.g. truncated) file.
    """
    path = existing_file(kind, value)
    digest, size, text = read_document(kind, path)
    return path, digest, size, parse_json(label, path, text)


def crafted(
    kind: str,
    name: str,
    path: Path,
    digest: Digest,
    size: int,
    summary: dict[str, Any],
    annotations: dict[str, str] | None = None,
) -> CraftedMaterial:
    """The CraftedMaterial of a validated evidence file (uploaded as is)."""
    return CraftedMaterial(
        name=name,
        kind=kind,
        digest=digest,
        size=size,
        filename=path.name,
        upload_path=path.absolute(),
        annotations=dict(annotations or {}),
        summary=summary,
    )


def count_by(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[str, int]:
    """``{key: count}`` sorted by key; keys that are not non-empty strings count as ``unknown``."""
    counts: Counter[str] = Counter()
    for item in items:
        found = key(item)
        counts[found if isinstance(found, str) and found else "unknown"] += 1
    return dict(sorted(counts.items()))


def type_name(doc: Any) -> str:
    """``an object``, ``an array``, ... for messages about the top level of a document."""
    if isinstance(doc, dict):
        return "an object"
    if isinstance(doc, list):
        return "an array"
    if isinstance(doc, str):
        return "a string"
    if doc is None:
        return "null"
    # JSON's names, not Python's: the reader wrote JSON or YAML
    names = {bool: "a boolean", int: "an integer", float: "a number"}
    return names.get(type(doc), f"a {type(doc).__name__}")


def tools_annotations(tools: list[dict[str, str | None]]) -> dict[str, str]:
    """``{chainproof.material.tools: [...]}`` or nothing when no tool is named."""
    return {TOOLS: tools_annotation(tools)} if tools else {}


def field_error(filename: str, label: str, where: str, problem: str) -> MaterialError:
    """``<file> is not a valid <label> report: <where> <problem>``."""
    return MaterialError(f"{filename} is not a valid {label} report: {where} {problem}")
