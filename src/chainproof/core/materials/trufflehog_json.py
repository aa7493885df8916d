"""TRUFFLEHOG_JSON: the JSON Lines output of ``trufflehog ... --json``.

TruffleHog publishes no schema for its output; the checks are written by hand after its
``detectors.ResultWithMetadata`` printer (github.com/trufflesecurity/trufflehog,
``pkg/output/json.go``): one JSON object per line, each with a string ``DetectorName`` and,
when present, a boolean ``Verified`` and an object ``SourceMetadata``. Blank lines are ignored.

As in Chainloop, an empty file means "no findings" and is valid (count 0), unlike every other
file kind. The summary counts findings by detector and how many were verified; it never
includes the secrets (``Raw``, ``RawV2``, ``Redacted``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.core.materials._common import existing_file, read_document, read_head
from chainproof.core.materials._report import (
    count_by,
    crafted,
    field_error,
    tools_annotations,
    type_name,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

_LABEL = "TruffleHog JSON"
_DETECTOR = re.compile(rb'"DetectorName"\s*:\s*"')
_SOURCE = re.compile(rb'"SourceMetadata"\s*:')


def _finding(filename: str, lineno: int, line: str) -> dict[str, Any]:
    where = f"line {lineno}"
    try:
        item = jsonload.loads(line)
    except json.JSONDecodeError as exc:
        raise MaterialError(
            f"{filename} is not a valid {_LABEL} report: {where} is not JSON "
            f"(column {exc.colno}: {exc.msg})",
            hint="the file may be truncated; TruffleHog writes one JSON object per line (--json)",
        ) from exc
    if not isinstance(item, dict):
        raise field_error(filename, _LABEL, where, f"is {type_name(item)}, not an object")
    if not isinstance(item.get("DetectorName"), str):
        raise field_error(filename, _LABEL, where, "has no string 'DetectorName'")
    if "Verified" in item and not isinstance(item["Verified"], bool):
        raise field_error(filename, _LABEL, where, "has a 'Verified' that is not a boolean")
    if "SourceMetadata" in item and not isinstance(item["SourceMetadata"], dict | None):
        raise field_error(filename, _LABEL, where, "has a 'SourceMetadata' that is not an object")
    return item


def _raise_if_json_document(filename: str, text: str) -> None:
    """A clearer error than "line 1 is not JSON" for a pretty-printed JSON document (another
    tool's report, or findings gathered in an array): it is not one finding per line."""
    try:
        doc = jsonload.loads(text)
    except ValueError:
        return
    lines = sum(1 for line in text.splitlines() if line.strip())
    if not isinstance(doc, list) and not (isinstance(doc, dict) and lines > 1):
        return  # an object on one line is JSON Lines: the line's own error stands
    raise MaterialError(
        f"{filename} is not a valid {_LABEL} report: it is one JSON document "
        f"({type_name(doc)}), not one JSON object per line",
        hint="TruffleHog --json writes one finding per line; "
        "a report of another tool needs its own --kind",
    )


class TrufflehogJsonHandler:
    """Validates TruffleHog JSON Lines and counts findings by detector."""

    kind: ClassVar[str] = "TRUFFLEHOG_JSON"

    def accepts(self, value: str) -> bool:
        """A file whose first non-blank line is a JSON object naming ``DetectorName`` and
        ``SourceMetadata``. An empty file is not detected (give --kind TRUFFLEHOG_JSON)."""
        got = read_head(value)
        if got is None:
            return False
        head = got[0].lstrip(b"\xef\xbb\xbf \t\r\n")
        first = head.split(b"\n", 1)[0]
        return (
            first.startswith(b"{")
            and _DETECTOR.search(first) is not None
            and _SOURCE.search(first) is not None
        )

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing file, a line that is not JSON (a truncated
        file, a JSON array or document), or a finding without DetectorName."""
        path, digest, size, text = self._read(value)
        findings: list[dict[str, Any]] = []
        try:
            for lineno, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    findings.append(_finding(path.name, lineno, line))
        except MaterialError:
            _raise_if_json_document(path.name, text)
            raise
        summary: dict[str, Any] = {
            "findings": len(findings),
            "verified": sum(1 for f in findings if f.get("Verified") is True),
            "by_detector": count_by(findings, lambda f: f.get("DetectorName")),
        }
        return crafted(
            self.kind,
            name,
            path,
            digest,
            size,
            summary,
            tools_annotations([{"name": "trufflehog", "version": None}]),
        )

    def _read(self, value: str) -> tuple[Path, Digest, int, str]:
        """Like the other kinds, but an empty regular file is valid: no findings."""
        path = Path(value)
        try:
            empty = bool(value) and path.is_file() and path.stat().st_size == 0
        except OSError:
            empty = False
        if not empty:
            path = existing_file(self.kind, value)
        digest, size, text = read_document(self.kind, path)
        return path, digest, size, text
