"""SYSINTERNALS_SIGCHECK and SYSINTERNALS_ACCESSCHK: reports of two Sysinternals tools.

Neither tool publishes a schema, so both readers are written by hand after the tools' output
(learn.microsoft.com/sysinternals/downloads/sigcheck and .../accesschk) and Chainloop's readers
of the same kinds, so that policies written for Chainloop read the same projection:

* sigcheck ``-c`` (comma-separated, every field quoted) or ``-ct`` (tab-separated): a header
  row naming the columns (``Path``, ``Verified``, ``Date``, ``Publisher``, ...; ``-h`` adds the
  hashes), then one row per file. The startup banner (absent with ``-nobanner``) is skipped,
  UTF-16 output (a BOM) is decoded. A report must have the ``Path`` and ``Verified`` columns.
  Policies see the rows as ``{"elements": [{column: value}, ...]}``.
* AccessChk prints text only: an optional banner, then each object's name at column 0 and,
  indented under it, one ``R``/``W``/``RW`` line per principal (``-v`` adds the rights granted,
  indented deeper) or, with ``-l``, the security descriptor (``DESCRIPTOR FLAGS``, ``OWNER:``,
  numbered ACEs). A report must show the banner, an access line or a descriptor. Policies see
  ``{"tool", "objects": [{name, access_entries, owner, dacl, ...}], "raw"}``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chainproof.core.materials._common import existing_file, read_document_bytes
from chainproof.core.materials._report import count_by, crafted, tools_annotations
from chainproof.core.materials._text import decode, head_text
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

RAW_LIMIT = 10 * 1024 * 1024
"""AccessChk reports larger than this are projected without their ``raw`` text."""

_SIGCHECK_BANNER = re.compile(r"(?i)^\s*(sigcheck v([0-9][0-9.]*)|copyright|sysinternals - )")
_SIGCHECK_VERSION = re.compile(r"(?i)^\s*sigcheck v([0-9][0-9.]*)")
_REQUIRED_COLUMNS = ("Path", "Verified")


# --- sigcheck ---------------------------------------------------------------------------------


@dataclass
class SigcheckReport:
    """The header and rows of a sigcheck report, and the version its banner named."""

    header: list[str]
    rows: list[dict[str, str]]
    version: str | None = None


def _delimiter(line: str) -> str:
    """Comma or tab, whichever occurs more often outside quotes in the header line."""
    commas = tabs = 0
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == ",":
            commas += 1
        elif not quoted and char == "\t":
            tabs += 1
    return "\t" if tabs > commas else ","


def parse_sigcheck(text: str) -> SigcheckReport:
    """The rows of sigcheck's ``-c``/``-ct`` output (banner skipped; ragged rows padded)."""
    lines = text.splitlines()
    version = None
    start = 0
    while start < len(lines) and (not lines[start].strip() or _SIGCHECK_BANNER.match(lines[start])):
        found = _SIGCHECK_VERSION.match(lines[start])
        version = version or (found.group(1) if found else None)
        start += 1
    body = "\n".join(lines[start:])
    if not body.strip():
        return SigcheckReport([], [], version)
    reader = csv.reader(io.StringIO(body), delimiter=_delimiter(lines[start]))
    records = [row for row in reader if any(cell.strip() for cell in row)]
    if not records:
        return SigcheckReport([], [], version)
    header = [cell.strip() for cell in records[0]]
    rows = [
        {col: (row[i] if i < len(row) else "") for i, col in enumerate(header)}
        for row in records[1:]
    ]
    return SigcheckReport(header, rows, version)


def sigcheck_projection(data: bytes) -> list[dict[str, str]]:
    """What policies see of a SYSINTERNALS_SIGCHECK material: its rows."""
    return parse_sigcheck(decode(data)).rows


def _has_columns(header: list[str]) -> bool:
    return all(col in header for col in _REQUIRED_COLUMNS)


class SigcheckHandler:
    """Validates sigcheck CSV/TSV output; the summary counts files by verification status."""

    kind: ClassVar[str] = "SYSINTERNALS_SIGCHECK"

    def accepts(self, value: str) -> bool:
        """A text file whose first row (after any banner) has the Path and Verified columns."""
        head = head_text(value)
        if head is None:
            return False
        try:
            report = parse_sigcheck("\n".join(head.splitlines()[:40]))
        except csv.Error:
            return False
        return _has_columns(report.header)

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing/empty file, unreadable CSV or missing columns."""
        path = existing_file(self.kind, value)
        digest, size, data = read_document_bytes(self.kind, path)
        try:
            report = parse_sigcheck(decode(data))
        except csv.Error as err:
            raise MaterialError(
                f"{path.name} is not a sigcheck report: not CSV ({err})",
                hint="produce it with sigcheck -c -nobanner (or -ct for tabs)",
            ) from None
        if not _has_columns(report.header):
            found = ", ".join(report.header[:8]) or "nothing"
            raise MaterialError(
                f"{path.name} is not a sigcheck report: its header row has no "
                f"{' and '.join(_REQUIRED_COLUMNS)} columns (found: {found})",
                hint="produce it with sigcheck -c -nobanner (or -ct for tabs)",
            )
        verified = count_by(report.rows, lambda row: row.get("Verified", "").strip())
        summary: dict[str, Any] = {
            "files": len(report.rows),
            "signed": verified.get("Signed", 0),
            "unsigned": verified.get("Unsigned", 0),
            "by_verified": verified,
            "columns": report.header,
            "tool_version": report.version,
        }
        tools = [{"name": "sigcheck", "version": report.version}]
        return crafted(self.kind, name, path, digest, size, summary, tools_annotations(tools))


# --- AccessChk --------------------------------------------------------------------------------

_ACCESSCHK_VERSION = re.compile(r"(?i)accesschk v([0-9][0-9.]*)")
_ACCESS_LINE = re.compile(r"^(RW|R|W)\s+(\S.*)$")
_ACE_LINE = re.compile(r"^\[(\d+)\]\s*(.*?):\s*(.*)$")


def _is_banner(line: str) -> bool:
    lower = line.lower()
    return (
        lower.startswith(("accesschk v", "copyright"))
        or "sysinternals - www.sysinternals.com" in lower
    )


@dataclass
class _Parser:
    """Reads AccessChk output line by line into objects (default, -v and -l modes)."""

    version: str | None = None
    objects: list[dict[str, Any]] = field(default_factory=list)
    descriptor_seen: bool = False
    _entry_indent: int = -1
    _section: str = ""
    _ace: dict[str, Any] | None = None

    def line(self, raw: str) -> None:
        text = raw.strip()
        if not text or _is_banner(text):
            found = _ACCESSCHK_VERSION.search(text)
            if found and self.version is None:
                self.version = found.group(1)
            return
        if "DESCRIPTOR FLAGS" in text or "ACCESS_ALLOWED" in text:
            self.descriptor_seen = True
        indent = len(raw) - len(raw.lstrip(" \t"))
        if indent == 0:
            self.objects.append({"name": text, "access_entries": []})
            self._entry_indent, self._section, self._ace = -1, "", None
        elif self.objects:
            self._detail(self.objects[-1], text, indent)

    def _detail(self, obj: dict[str, Any], text: str, indent: int) -> None:
        access = _ACCESS_LINE.match(text)
        if access:
            entry: dict[str, Any] = {
                "access": access.group(1),
                "principal": access.group(2),
                "rights": [],
            }
            obj["access_entries"].append(entry)
            self._entry_indent, self._ace = indent, None
        elif text.startswith("DESCRIPTOR FLAGS"):
            self._section, self._ace = "flags", None
        elif text.startswith("OWNER:"):
            obj["owner"], self._ace = text.removeprefix("OWNER:").strip(), None
        elif text.startswith(("DACL", "SACL")):
            self._section, self._ace = text[:4].lower(), None
        elif ace := _ACE_LINE.match(text):
            section = "sacl" if self._section == "sacl" else "dacl"
            self._section = section
            self._ace = {
                "index": int(ace.group(1)),
                "ace_type": ace.group(2).strip(),
                "principal": ace.group(3).strip(),
                "ace_flags": [],
                "rights": [],
            }
            obj.setdefault(section, []).append(self._ace)
        else:
            self._right(obj, text, indent)

    def _right(self, obj: dict[str, Any], text: str, indent: int) -> None:
        bracketed = text.startswith("[") and text.endswith("]")
        if self._ace is not None:
            self._ace["ace_flags" if bracketed else "rights"].append(text.strip("[]"))
        elif self._section == "flags":
            obj.setdefault("descriptor_flags", []).append(text.strip("[]"))
        elif obj["access_entries"] and indent > self._entry_indent >= 0:
            obj["access_entries"][-1]["rights"].append(text)

    def looks_like_accesschk(self) -> bool:
        return bool(
            self.version
            or self.descriptor_seen
            or any(
                o["access_entries"] or o.get("dacl") or o.get("sacl") or o.get("owner")
                for o in self.objects
            )
        )


def parse_accesschk(text: str) -> _Parser:
    """AccessChk's text output read into objects; anything unrecognised is left out."""
    parser = _Parser()
    for raw in text.splitlines():
        parser.line(raw)
    return parser


def accesschk_projection(data: bytes) -> dict[str, Any]:
    """What policies see of a SYSINTERNALS_ACCESSCHK material (Chainloop's shape)."""
    text = decode(data)
    parsed = parse_accesschk(text)
    tool: dict[str, Any] = {"name": "AccessChk"}
    if parsed.version:
        tool["version"] = parsed.version
    return {
        "tool": tool,
        "objects": parsed.objects,
        "raw": text if len(data) <= RAW_LIMIT else "",
    }


class AccesschkHandler:
    """Validates AccessChk output; the summary counts objects and who may write to them."""

    kind: ClassVar[str] = "SYSINTERNALS_ACCESSCHK"

    def accepts(self, value: str) -> bool:
        """Only output with AccessChk's banner (``-nobanner`` output needs --kind)."""
        head = head_text(value, 4096)
        if head is None:
            return False
        first = [line.strip() for line in head.splitlines()[:5] if line.strip()]
        return (
            bool(first)
            and _ACCESSCHK_VERSION.match(first[0]) is not None
            and any("sysinternals" in line.lower() for line in first)
        )

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing/empty or binary file, or text that is not AccessChk's."""
        path = existing_file(self.kind, value)
        digest, size, data = read_document_bytes(self.kind, path)
        if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise MaterialError(f"{path.name} is not AccessChk output: it is a binary file")
        parsed = parse_accesschk(decode(data))
        if not parsed.looks_like_accesschk():
            raise MaterialError(
                f"{path.name} is not AccessChk output: no banner, no access line "
                "(e.g. `  RW BUILTIN\\Administrators`) and no security descriptor (-l) found",
                hint="add the text accesschk printed (redirected to a file); -nobanner is fine",
            )
        entries = [e for o in parsed.objects for e in o["access_entries"]]
        writable = {
            o["name"] for o in parsed.objects for e in o["access_entries"] if "W" in e["access"]
        }
        summary: dict[str, Any] = {
            "objects": len(parsed.objects),
            "access_entries": len(entries),
            "by_access": count_by(entries, lambda e: e["access"]),
            "writable_objects": len(writable),
            "principals": len({e["principal"] for e in entries}),
            "descriptors": sum(1 for o in parsed.objects if "dacl" in o or "owner" in o),
            "tool_version": parsed.version,
        }
        tools = [{"name": "AccessChk", "version": parsed.version}]
        return crafted(self.kind, name, path, digest, size, summary, tools_annotations(tools))
