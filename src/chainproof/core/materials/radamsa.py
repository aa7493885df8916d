"""RADAMSA_REPORT and RADAMSA_CRASHES: evidence of a radamsa fuzzing campaign.

radamsa (gitlab.com/akihe/radamsa) documents no report format; its ``-M FILE`` option writes
a metadata log, one line per output, of ``key: value`` pairs joined by ``, `` (strings quoted:
``muta-num: 1, generator: file, checksum: "CF5D...", nth: 1, path: "...", output: file-writer,
length: 16892, pattern: many-dec``), after one ``seed: <n>`` line per run. The reader is written
by hand after that output and Chainloop's reader of this kind: every non-blank line must be such
pairs; ``seed`` lines name runs and are not counted as iterations. A report may be one log, a
gzipped log, or a zip/tar(.gz) of logs (one per run). Policies see the iterations as
``{"elements": [{key: value}, ...]}`` (integers as numbers).

RADAMSA_CRASHES holds the inputs that crashed the target: one crashing file (a crash) or a zip
or tar(.gz) of them (0 means none crashed). It is recorded for its digest and count only;
policies read the count from the annotation ``chainproof.material.radamsa.crashes.count``
(``chainloop.material.radamsa.crashes.count`` for Chainloop policies), not the bytes.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    digest_file,
    existing_file,
    read_document_bytes,
)
from chainproof.core.materials._report import count_by, crafted, tools_annotations
from chainproof.core.materials._text import (
    archive_texts,
    as_file,
    count_entries,
    decode,
    head_text,
    is_archive_file,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

CRASHES_ANNOTATION = ANNOTATION_PREFIX + "radamsa.crashes.count"
MAX_ENTRIES = 2_000_000
MAX_BYTES = 1024 * 1024 * 1024
MAX_RECORDS = 5_000_000
_TOOLS = tools_annotations([{"name": "radamsa", "version": None}])
_SEED_LINE = re.compile(r"^seed: \d+\s*$", re.MULTILINE)
_OUTPUT_LINE = re.compile(r'^[\w-]+: \d+, generator: [\w-]+, .*checksum: "', re.MULTILINE)


class RadamsaLogError(ValueError):
    """A line of a -M log that is not ``key: value`` pairs."""


def _split(line: str) -> list[str]:
    """``line`` split on ``, `` outside double quotes (a backslash escapes the next char)."""
    parts, current, quoted, i = [], [], False, 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            current.append(line[i : i + 2])
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        if not quoted and line.startswith(", ", i):
            parts.append("".join(current))
            current, i = [], i + 2
            continue
        current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _value(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def parse_log(text: str) -> list[dict[str, Any]]:
    """Every record of a -M log, ``seed`` lines included. RadamsaLogError names a bad line."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        record: dict[str, Any] = {}
        for pair in _split(line.strip()):
            key, sep, raw = pair.partition(": ")
            if not sep:
                if not pair.endswith(":"):
                    raise RadamsaLogError(f"line {number}: {pair[:60]!r} is not a key: value pair")
                key = pair[:-1]
            if not key.strip() or " " in key.strip():
                raise RadamsaLogError(f"line {number}: {pair[:60]!r} is not a key: value pair")
            record[key.strip()] = _value(raw.strip())
        records.append(record)
        if len(records) > MAX_RECORDS:
            raise RadamsaLogError(f"more than {MAX_RECORDS} records")
    return records


def _gunzip(filename: str, data: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            raw = fh.read(MAX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise MaterialError(f"{filename}: the gzipped log is corrupt: {err}") from None
    if len(raw) > MAX_BYTES:
        raise MaterialError(f"{filename}: the gzipped log unpacks to more than {MAX_BYTES} bytes")
    return raw


def _logs(filename: str, path: Path | None, data: bytes) -> Iterator[tuple[str, bytes]]:
    """The -M logs of a report, one at a time: the file, the gunzipped file, or the entries
    of an archive (read as they come, so an archive is never held whole)."""
    if path is not None and is_archive_file(path):
        yield from archive_texts(
            "RADAMSA_REPORT", path, max_entries=MAX_ENTRIES, max_bytes=MAX_BYTES
        )
    else:
        yield "", _gunzip(filename, data) if data.startswith(b"\x1f\x8b") else data


def _log_records(filename: str, source: str, log: bytes) -> list[dict[str, Any]]:
    where = f"{source}: " if source else ""
    problem = "binary content" if b"\x00" in log[:4096] else None
    if problem is None:
        try:
            return parse_log(decode(log))
        except RadamsaLogError as err:
            problem = str(err)
    raise MaterialError(
        f"{filename} is not a radamsa -M metadata log: {where}{problem}",
        hint="add the file radamsa wrote with -M (one `key: value, ...` line per output)",
    )


def report_records(
    data: bytes, path: Path | None = None, filename: str = "the report"
) -> tuple[list[dict[str, Any]], int]:
    """(iterations, runs) of a RADAMSA_REPORT: its records without ``seed`` lines (an
    archive's in entry-name order), and how many ``seed`` lines there were. MaterialError for a
    line that is not ``key: value`` pairs, binary content, or too many records."""
    logs: list[tuple[str, list[dict[str, Any]]]] = []
    total = 0
    for source, log in _logs(filename, path, data):
        records = _log_records(filename, source, log)
        total += len(records)
        if total > MAX_RECORDS:
            raise MaterialError(f"{filename} holds more than {MAX_RECORDS} -M records")
        logs.append((source, records))
    records = [r for _, found in sorted(logs, key=lambda e: e[0]) for r in found]
    iterations = [r for r in records if "seed" not in r]
    return iterations, len(records) - len(iterations)


def report_projection(data: bytes) -> list[dict[str, Any]]:
    """What policies see of a RADAMSA_REPORT material: its iterations (``elements``)."""
    with as_file(data) as path:
        return report_records(data, path)[0]


class RadamsaReportHandler:
    """Validates radamsa's -M metadata log(s); the summary counts runs and iterations."""

    kind: ClassVar[str] = "RADAMSA_REPORT"

    def accepts(self, value: str) -> bool:
        """A text file with a ``seed: <n>`` line and an output line (``<mutation>: <n>,
        generator: ..., checksum: "..."``): bare ``key: value`` text is too common to detect."""
        head = head_text(value)
        return bool(head and _SEED_LINE.search(head) and _OUTPUT_LINE.search(head))

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing/empty file, a line that is not ``key: value`` pairs, a
        log without any record, or a corrupt or oversized archive."""
        path = existing_file(self.kind, value)
        digest, size, data = read_document_bytes(self.kind, path)
        iterations, runs = report_records(data, path, path.name)
        if not iterations and not runs:
            raise MaterialError(
                f"{path.name} is not a radamsa -M metadata log: it holds no record",
                hint="add the file radamsa wrote with -M",
            )
        summary: dict[str, Any] = {
            "runs": runs,
            "iterations": len(iterations),
            "by_generator": count_by(iterations, lambda r: r.get("generator")),
            "by_pattern": count_by(iterations, lambda r: r.get("pattern")),
            "bytes_generated": sum(
                r["length"] for r in iterations if isinstance(r.get("length"), int)
            ),
        }
        return crafted(self.kind, name, path, digest, size, summary, dict(_TOOLS))


def _crash_count(kind: str, path: Path) -> tuple[bool, int]:
    """(is an archive, crashing inputs): the regular files of an archive, else 1."""
    if not is_archive_file(path) and not _empty_zip(path):
        return False, 1
    return True, count_entries(kind, path, max_entries=MAX_ENTRIES)


def _empty_zip(path: Path) -> bool:
    """A zip with no entry starts with its end-of-central-directory record."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x05\x06"
    except OSError:
        return False


class RadamsaCrashesHandler:
    """Records the inputs that crashed the target (a file, or an archive of them) by count."""

    kind: ClassVar[str] = "RADAMSA_CRASHES"

    def accepts(self, value: str) -> bool:
        """Never: crashing inputs are arbitrary bytes. Give --kind RADAMSA_CRASHES."""
        return False

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing or empty file, or an unreadable or oversized archive."""
        path = existing_file(self.kind, value)
        archive, count = _crash_count(self.kind, path)
        digest, size = digest_file(self.kind, path)
        summary = {"crashes": count, "archive": archive}
        annotations = {**_TOOLS, CRASHES_ANNOTATION: str(count)}
        return crafted(self.kind, name, path, digest, size, summary, annotations)
