"""ZAP_DAST_ZIP: a zip of the reports of a ZAP (Zed Attack Proxy) DAST scan.

ZAP's GitHub Actions and packaged scans (``zap-baseline.py -J report_json.json``, ...) leave
their reports together, and CI keeps them as one zip (the actions upload ``zap_scan.zip``). As
in Chainloop, the zip is the evidence: it must hold a ZAP "Traditional JSON" report named
``report_json.json`` whose ``@programName`` is ``ZAP``. ZAP publishes no schema for that report
(it is a Thymeleaf template, ``reports/traditional-json/report.json`` in
zaproxy/zap-extensions) and no PyPI package reads it, so the checks are written by hand after
the template: a ``site`` array of objects with a string ``@name`` and an ``alerts`` array, each
alert an object with a ``riskcode`` from 0 to 3 and a name.

The zip is read once (the digest is of the bytes inspected) with the standard library's
zipfile, never extracted: at most :data:`MAX_ENTRIES` entries and :data:`MAX_UNCOMPRESSED_BYTES`
declared in all (the limits of ``archive.py``), and the report itself is decompressed as a
stream stopped at :data:`MAX_REPORT_BYTES`, so a zip bomb fails fast. A report at the top of
the zip wins over one in a folder; two at the same depth are ambiguous and refused.

The summary counts alerts by risk level (the level ``riskdesc`` names before the confidence,
e.g. ``Medium`` of ``Medium (High)``, taken from ``riskcode`` because ZAP translates
``riskdesc``), their instances and the sites scanned; the tool is ``ZAP`` at the report's
``@version``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.core.materials._common import existing_file, read_head
from chainproof.core.materials._report import (
    crafted,
    read_tail,
    tools_annotations,
    type_name,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    import zipfile

REPORT_NAME = "report_json.json"
PROGRAM_NAME = "ZAP"
RISK_LEVELS = ("High", "Medium", "Low", "Informational")
"""ZAP's risk strings, by decreasing ``riskcode`` (3..0)."""

MAX_ZIP_BYTES = 256 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_REPORT_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024

_LABEL = "ZAP DAST zip"
_ZIP_MAGIC = b"PK\x03\x04"
_HINT = "zip the reports of the ZAP scan, including report_json.json (zap-*.py -J report_json.json)"


def _fail(filename: str, problem: str, hint: str | None = None) -> MaterialError:
    return MaterialError(f"{filename} is not a valid {_LABEL}: {problem}", hint=hint)


def _read_zip(kind: str, path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ZIP_BYTES + 1)
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_ZIP_BYTES:
        raise _fail(path.name, f"it is larger than {MAX_ZIP_BYTES} bytes")
    return data


def _open_zip(filename: str, data: bytes) -> zipfile.ZipFile:
    import zipfile

    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        looks_json = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
        raise _fail(
            filename,
            f"it is not a zip archive ({exc})",
            hint=f"zip the JSON report as {REPORT_NAME}" if looks_json else _HINT,
        ) from None


def _find_report(filename: str, zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The report's entry, after checking the archive's limits."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _fail(filename, f"it has more than {MAX_ENTRIES} entries")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise _fail(filename, f"it unpacks to more than {MAX_UNCOMPRESSED_BYTES} bytes")
    found = [
        info
        for info in infos
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and PurePosixPath(info.filename).name == REPORT_NAME
    ]
    if not found:
        raise _fail(filename, f"it holds no ZAP JSON report ({REPORT_NAME})", hint=_HINT)
    depth = min(len(PurePosixPath(i.filename).parts) for i in found)
    shallowest = [i for i in found if len(PurePosixPath(i.filename).parts) == depth]
    if len(shallowest) > 1:
        names = ", ".join(i.filename for i in shallowest)
        raise _fail(filename, f"it holds {len(shallowest)} {REPORT_NAME} ({names}): ambiguous")
    info = shallowest[0]
    mode = (info.external_attr >> 16) & 0o170000
    if mode and mode != 0o100000:  # a symlink or other non-regular file
        raise _fail(filename, f"{info.filename} is not a regular file")
    return info


def _read_member(filename: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, decompressed as a stream and stopped at MAX_REPORT_BYTES."""
    import zipfile
    import zlib

    chunks: list[bytes] = []
    read = 0
    try:
        with zf.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                read += len(chunk)
                if read > MAX_REPORT_BYTES:
                    raise _fail(
                        filename, f"{info.filename} unpacks to more than {MAX_REPORT_BYTES} bytes"
                    )
                chunks.append(chunk)
    except RuntimeError as exc:  # zipfile's error for an encrypted entry without a password
        raise _fail(filename, f"cannot read {info.filename}: {exc}") from None
    except NotImplementedError as exc:  # an unsupported compression method
        raise _fail(filename, f"cannot read {info.filename}: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _fail(filename, f"{info.filename} is corrupt ({exc})") from None
    return b"".join(chunks)


def _parse(filename: str, entry: str, data: bytes) -> Any:
    where = f"{filename}!{entry}"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MaterialError(
            f"{where} is not a ZAP JSON report: not UTF-8 text (byte {exc.start})"
        ) from None
    try:
        return jsonload.loads(text)
    except json.JSONDecodeError as exc:
        raise MaterialError(
            f"{where} is not a valid ZAP JSON report: not JSON at line {exc.lineno} "
            f"column {exc.colno}: {exc.msg}",
            hint="the report may be truncated",
        ) from None


def _risk_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and 0 <= value <= 3 else None


def _level(alert: dict[str, Any]) -> str:
    """The risk level riskdesc names (``Medium`` of ``Medium (High)``), taken from ``riskcode``:
    ZAP translates riskdesc into the user's language, not the code."""
    return RISK_LEVELS[3 - int(_risk_code(alert["riskcode"]) or 0)]


def _instances(alert: dict[str, Any]) -> int:
    instances = alert.get("instances")
    if isinstance(instances, list):
        return len(instances)
    count = alert.get("count")
    if isinstance(count, str) and count.isdigit():
        return int(count)
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _check(where: str, doc: Any) -> list[dict[str, Any]]:
    """The report's sites; MaterialError on the first structural problem."""

    def bad(field: str, problem: str) -> MaterialError:
        return MaterialError(f"{where} is not a valid ZAP JSON report: {field} {problem}")

    if not isinstance(doc, dict):
        raise MaterialError(
            f"{where} is not a ZAP JSON report: the top level is {type_name(doc)}, not an object"
        )
    program = doc.get("@programName")
    if program != PROGRAM_NAME:
        found = "missing" if program is None else repr(program)
        raise MaterialError(
            f"{where} is not a ZAP JSON report: @programName is {found}, expected {PROGRAM_NAME!r}",
            hint="write it with ZAP's Traditional JSON report (ZAP 2.12 or later)",
        )
    sites = doc.get("site")
    if not isinstance(sites, list):
        raise bad("site", "is missing" if sites is None else f"is {type_name(sites)}, not an array")
    for s_index, site in enumerate(sites):
        at = f"site[{s_index}]"
        if not isinstance(site, dict):
            raise bad(at, f"is {type_name(site)}, not an object")
        if not isinstance(site.get("@name"), str):
            raise bad(at, "has no string '@name'")
        alerts = site.get("alerts")
        if not isinstance(alerts, list):
            raise bad(f"{at} alerts", "is not an array")
        for a_index, alert in enumerate(alerts):
            alert_at = f"{at} alerts[{a_index}]"
            if not isinstance(alert, dict):
                raise bad(alert_at, f"is {type_name(alert)}, not an object")
            if _risk_code(alert.get("riskcode")) is None:
                raise bad(alert_at, f"riskcode {alert.get('riskcode')!r} is not 0..3")
            if not isinstance(alert.get("name") or alert.get("alert"), str):
                raise bad(alert_at, "has no name")
            if "instances" in alert and not isinstance(alert["instances"], list):
                raise bad(f"{alert_at} instances", "is not an array")
    return sites


def _summary(entry: str, doc: dict[str, Any], sites: list[dict[str, Any]]) -> dict[str, Any]:
    alerts = [alert for site in sites for alert in site["alerts"]]
    by_risk = dict.fromkeys(RISK_LEVELS, 0)
    for alert in alerts:
        by_risk[_level(alert)] += 1
    version = doc.get("@version")
    generated = doc.get("created") or doc.get("@generated")
    return {
        "report_entry": entry,
        "program": PROGRAM_NAME,
        "version": version if isinstance(version, str) else None,
        "generated": generated if isinstance(generated, str) else None,
        "sites": len(sites),
        "alerts": len(alerts),
        "alerts_by_risk": by_risk,
        "instances": sum(_instances(alert) for alert in alerts),
    }


class ZapDastZipHandler:
    """Validates the ZAP JSON report inside a zip of ZAP scan reports and counts its alerts."""

    kind: ClassVar[str] = "ZAP_DAST_ZIP"

    def accepts(self, value: str) -> bool:
        """A zip file whose local headers or central directory name ``report_json.json``
        (read from the head and the tail of the file only; craft checks the content)."""
        got = read_head(value)
        if got is None or not got[0].startswith(_ZIP_MAGIC):
            return False
        marker = REPORT_NAME.encode()
        return marker in got[0] or marker in (read_tail(value) or b"")

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, a file that is not a zip, a zip over
        the limits or without ``report_json.json``, or a report that is not ZAP's JSON."""
        path = existing_file(self.kind, value)
        data = _read_zip(self.kind, path)
        digest = Digest.of_bytes(data)
        with _open_zip(path.name, data) as zf:
            info = _find_report(path.name, zf)
            raw = _read_member(path.name, zf, info)
        where = f"{path.name}!{info.filename}"
        doc = _parse(path.name, info.filename, raw)
        sites = _check(where, doc)
        summary = _summary(info.filename, doc, sites)
        tool: dict[str, str | None] = {"name": PROGRAM_NAME, "version": summary["version"]}
        return crafted(self.kind, name, path, digest, len(data), summary, tools_annotations([tool]))
