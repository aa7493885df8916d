"""CERTCC_DRANZER: the text report of CERT/CC's dranzer, which fuzzes ActiveX/COM controls.

dranzer (github.com/CERTCC/dranzer) has no machine-readable output and no documented format,
so the reader is written by hand after its reports and Chainloop's reader of this kind: a
``*****`` ruled text with, per tested control, ``Testing COM Object - {CLSID} <name>`` and
``Key : value`` metadata; failures as ``{CLSID}-<class>`` then ``ERROR - <message> (0x<code>)``,
or access violations and exceptions after an ``Invoking Method - ...`` line; and a closing
summary of ``Number of <label>   <n>`` counters under ``Test Engine Version: $Rev: N $``.
Reports are written in the ANSI code page, so bytes that are not UTF-8 are decoded as
Windows-1252 rather than refused.

One run writes a report per test mode (-b, -p, -s, -t): the value may be one report or a zip or
tar(.gz) of them; the archive is recorded whole and must hold at least one report (other
entries, such as a CSV summary, are skipped). Policies see Chainloop's projection: ``tool``,
``objects``, ``findings`` and ``summary`` summed over the reports, ``raw``, and ``reports``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from chainproof.core.materials._common import ANNOTATION_PREFIX, existing_file, read_document_bytes
from chainproof.core.materials._report import crafted, tools_annotations
from chainproof.core.materials._text import (
    archive_texts,
    as_file,
    decode,
    head_text,
    is_archive_file,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

REPORTS_ANNOTATION = ANNOTATION_PREFIX + "dranzer.reports.count"
MAX_ENTRIES = 256
MAX_BYTES = 16 * 1024 * 1024

_OBJECT = re.compile(r"^Testing COM Object - (\{[^}]+\}|[0-9A-Fa-f-]+)\s*(.*)$")
_FAILURE = re.compile(r"^(\{[^}]+\})-(.*)$")
_ERROR = re.compile(r"^ERROR - (.*?)\s*\((0x[0-9A-Fa-f]+)\)\s*$")
_METHOD = re.compile(
    r"^Invok(?:ing|ed) (?:Method|Property Get|Property Put Reference|Property Put)\s+-\s+(.+)$"
)
_VIOLATION = re.compile(r"^(.+?) at (0x[0-9A-Fa-f]+) :Bad (read|write) on (0x[0-9A-Fa-f]+)$")
_EXCEPTION = re.compile(r"^(.+?) \(code ([0-9A-Fa-f]+)\) at (0x[0-9A-Fa-f]+)$")
_METADATA = re.compile(r"^([A-Za-z][A-Za-z .]+?)\s*:\s*(.*)$")
_COUNTER = re.compile(r"^Number of (.+?)\s{2,}([0-9]+)$")
_VERSION = re.compile(r"(?i)Test Engine Version:\s*\$Rev:\s*([0-9]+)")
_MARKERS = ("Testing COM Object - ", "Number of COM Objects", "Test Engine Version: $Rev:")
_WELL_KNOWN = {
    "com_objects": "object_count",
    "com_objects_with_kill_bit": "kill_bit_count",
    "com_objects_passed_test": "passed_count",
    "com_objects_failed_test": "failed_count",
    "com_objects_hung_during_test": "hung_count",
}


def _key(label: str) -> str:
    return "_".join(label.lower().replace(".", "").split())


def _empty_summary() -> dict[str, Any]:
    summary: dict[str, Any] = dict.fromkeys(_WELL_KNOWN.values(), 0)
    summary["counters"] = {}
    return summary


class _Report:
    """One dranzer report read line by line."""

    def __init__(self, text: str, source: str = "") -> None:
        self.raw, self.source = text, source
        found = _VERSION.search(text)
        self.version = found.group(1) if found else None
        self.objects: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []
        self.summary = _empty_summary()
        self._current: dict[str, Any] | None = None
        self._pending: dict[str, Any] | None = None
        self._method = ""
        for line in text.splitlines():
            self._line(line.strip())

    def _line(self, text: str) -> None:
        if not text.strip("* ") or text.strip("* ").lower() == "access violation":
            return
        if counter := _COUNTER.match(text):
            key, value = _key(counter.group(1)), int(counter.group(2))
            self.summary["counters"][key] = value
            if key in _WELL_KNOWN:
                self.summary[_WELL_KNOWN[key]] = value
        elif obj := _OBJECT.match(text):
            self._current = {
                "clsid": obj.group(1),
                "description": obj.group(2).strip(),
                "metadata": {},
            }
            self.objects.append(self._current)
            self._pending, self._method = None, ""
        elif method := _METHOD.match(text):
            self._method = method.group(1).strip()
        elif violation := _VIOLATION.match(text):
            self._inline(
                error_message=violation.group(1).strip(),
                address=violation.group(2),
                access_type=violation.group(3),
            )
        elif exception := _EXCEPTION.match(text):
            self._inline(
                error_message=exception.group(1).strip(),
                error_code="0x" + exception.group(2),
                address=exception.group(3),
            )
        elif failure := _FAILURE.match(text):
            self._pending = {"clsid": failure.group(1), "class_name": failure.group(2).strip()}
            self.findings.append(self._pending)
        elif error := _ERROR.match(text):
            self._error(error.group(1), error.group(2))
        elif text.startswith("Test Engine Version"):
            self._current = None
        elif self._current is not None and (meta := _METADATA.match(text)):
            self._current["metadata"][_key(meta.group(1))] = meta.group(2).strip()

    def _inline(self, **finding: str) -> None:
        finding["method"] = self._method
        if self._current is not None:
            finding["clsid"] = self._current["clsid"]
            finding["class_name"] = self._current["description"]
        self.findings.append(finding)

    def _error(self, message: str, code: str) -> None:
        if self._pending is not None:
            self._pending.update(error_message=message, error_code=code)
            self._pending = None
        elif self._current is not None:
            self.findings.append(
                {
                    "clsid": self._current["clsid"],
                    "class_name": self._current["description"],
                    "error_message": message,
                    "error_code": code,
                }
            )
        else:
            self.findings.append({"error_message": message, "error_code": code})

    def looks_like_dranzer(self) -> bool:
        return bool(self.version or self.objects or self.findings) or any(
            marker in self.raw for marker in _MARKERS[:2]
        )


def _reports(kind: str, path: Path | None, data: bytes) -> list[_Report]:
    """The dranzer reports of a material: itself, or the report entries of its archive."""
    if path is None or not is_archive_file(path):
        return [_Report(decode(data))]
    found = []
    for name, entry in archive_texts(kind, path, max_entries=MAX_ENTRIES, max_bytes=MAX_BYTES):
        report = _Report(decode(entry), name)
        if report.looks_like_dranzer():
            found.append(report)
    return sorted(found, key=lambda r: r.source)


def _bundle(reports: list[_Report]) -> dict[str, Any]:
    """Chainloop's projection: the reports' aggregate at the top level, per report below."""
    summary = _empty_summary()
    for report in reports:
        for key, value in report.summary["counters"].items():
            summary["counters"][key] = summary["counters"].get(key, 0) + value
            if key in _WELL_KNOWN:
                summary[_WELL_KNOWN[key]] = summary["counters"][key]
    version = next((r.version for r in reports if r.version), None)
    tool: dict[str, Any] = {"name": "dranzer", **({"version": version} if version else {})}
    single = len(reports) == 1 and not reports[0].source
    return {
        "tool": tool,
        "objects": [
            {**o, "source": r.source} if r.source else o for r in reports for o in r.objects
        ],
        "findings": [
            {**f, "source": r.source} if r.source else f for r in reports for f in r.findings
        ],
        "summary": summary,
        "raw": reports[0].raw
        if single
        else "".join(f"===== {r.source} =====\n{r.raw.rstrip()}\n" for r in reports),
        "reports": [
            {
                "source": r.source,
                "tool": {"name": "dranzer", "version": r.version},
                "summary": r.summary,
            }
            for r in reports
        ],
    }


def dranzer_projection(data: bytes) -> dict[str, Any]:
    """What policies see of a CERTCC_DRANZER material (one report or an archive of them)."""
    with as_file(data) as path:
        return _bundle(_reports("CERTCC_DRANZER", path, data))


class DranzerHandler:
    """Validates a dranzer report (or an archive of a run's reports) and sums its counters."""

    kind: ClassVar[str] = "CERTCC_DRANZER"

    def accepts(self, value: str) -> bool:
        """A text file with dranzer's object banner, summary counters or engine version."""
        head = head_text(value)
        return head is not None and any(marker in head for marker in _MARKERS)

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing/empty file, text that is not dranzer's, or an archive
        with no report, too many entries or too many bytes."""
        path = existing_file(self.kind, value)
        digest, size, data = read_document_bytes(self.kind, path)
        archive = is_archive_file(path)
        reports = _reports(self.kind, path, data)
        if not reports or not all(r.looks_like_dranzer() for r in reports):
            where = "no entry of the archive is" if archive else "it is not"
            raise MaterialError(
                f"{path.name} is not a dranzer report: {where} dranzer output (no "
                "`Testing COM Object -` block, `Number of COM Objects` summary or engine version)",
                hint="add the text report dranzer wrote, or a zip/tar of one run's reports",
            )
        bundle = _bundle(reports)
        summary: dict[str, Any] = {
            "reports": len(reports),
            "archive": archive,
            "tool_version": bundle["tool"].get("version"),
            "objects": len(bundle["objects"]),
            "findings": len(bundle["findings"]),
            **{k: v for k, v in bundle["summary"].items() if k != "counters"},
        }
        annotations = {
            **tools_annotations([{"name": "dranzer", "version": summary["tool_version"]}]),
            REPORTS_ANNOTATION: str(len(reports)),
        }
        return crafted(self.kind, name, path, digest, size, summary, annotations)
