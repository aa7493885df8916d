"""TWISTCLI_SCAN_JSON: the JSON report of Prisma Cloud's ``twistcli ... scan --output-file``.

``twistcli images scan`` (and ``coderepo scan``, ``serverless scan``) writes one object: a
``results`` array with one entry per scanned artifact (its ``id``, ``name``, ``distro``,
``vulnerabilities``, ``compliances``, their ``...Distribution`` counts and the
``...ScanPassed`` verdicts of the Console's policies) and the ``consoleURL`` where the scan can
be seen. Palo Alto publishes no schema for it and no PyPI package reads it, so the checks are
written by hand after that output: as Chainloop does, ``results`` must be present and
``consoleURL`` a non-empty string; here ``results`` must also be an array of objects whose
``vulnerabilities`` and ``compliances`` (when present) are arrays of objects, and every
vulnerability needs a string ``id``.

The summary counts vulnerabilities and compliance issues by severity across all results and
says whether every result passed the vulnerability and compliance thresholds. The report does
not say which twistcli version wrote it, so the tool is ``twistcli`` alone.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chainproof.core.materials._report import (
    count_by,
    crafted,
    field_error,
    load_json,
    sniff_json,
    tools_annotations,
    type_name,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

_LABEL = "twistcli scan"
_HINT = "write it with twistcli images scan --output-file <file>"
_RESULTS = re.compile(rb'"results"\s*:\s*\[')
_CONSOLE = re.compile(rb'"consoleURL"\s*:\s*"[^"]')


def _is_report(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("results"), list)
        and isinstance(doc.get("consoleURL"), str)
        and bool(doc["consoleURL"])
    )


def _items(filename: str, result: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = result.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise field_error(
            filename, _LABEL, f"{where} {key}", f"is {type_name(items)}, not an array"
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise field_error(filename, _LABEL, f"{where} {key}[{index}]", "is not an object")
        severity = item.get("severity")
        if severity is not None and not isinstance(severity, str):
            raise field_error(
                filename, _LABEL, f"{where} {key}[{index}] severity", "is not a string"
            )
    return items


def _check(filename: str, doc: Any) -> list[dict[str, Any]]:
    """The report's results; MaterialError on the first structural problem."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: the top level is {type_name(doc)}, "
            "not an object",
            hint=_HINT,
        )
    missing = [k for k in ("results", "consoleURL") if k not in doc]
    if missing:
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: missing {', '.join(missing)}", hint=_HINT
        )
    console = doc["consoleURL"]
    if not isinstance(console, str) or not console:
        raise field_error(filename, _LABEL, "consoleURL", "is not a non-empty string")
    results = doc["results"]
    if not isinstance(results, list):
        raise field_error(filename, _LABEL, "results", f"is {type_name(results)}, not an array")
    for index, result in enumerate(results):
        where = f"results[{index}]"
        if not isinstance(result, dict):
            raise field_error(filename, _LABEL, where, f"is {type_name(result)}, not an object")
        for v_index, vuln in enumerate(_items(filename, result, "vulnerabilities", where)):
            if not isinstance(vuln.get("id"), str) or not vuln["id"]:
                raise field_error(
                    filename, _LABEL, f"{where} vulnerabilities[{v_index}]", "has no string 'id'"
                )
        _items(filename, result, "compliances", where)
    return results


def _all(results: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [item for result in results for item in result.get(key) or []]


def _passed(results: list[dict[str, Any]], key: str) -> bool | None:
    """True/False when every result states ``key``; None when some do not say."""
    verdicts = [result.get(key) for result in results]
    if not verdicts or not all(isinstance(v, bool) for v in verdicts):
        return None
    return all(verdicts)


def _artifact(result: dict[str, Any]) -> str:
    for key in ("name", "id"):
        if isinstance(result.get(key), str) and result[key]:
            return str(result[key])
    return "?"


class TwistcliScanJsonHandler:
    """Validates a Prisma Cloud twistcli scan report and counts its findings."""

    kind: ClassVar[str] = "TWISTCLI_SCAN_JSON"

    def accepts(self, value: str) -> bool:
        """A JSON object with a ``results`` array and a non-empty ``consoleURL``."""
        found = sniff_json(value, b"{", (), (_RESULTS, _CONSOLE))
        if isinstance(found, dict):
            return _is_report(found)
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a document without
        ``results`` or ``consoleURL``, or a malformed result or vulnerability."""
        path, digest, size, doc = load_json(self.kind, _LABEL, value)
        results = _check(path.name, doc)
        vulns = _all(results, "vulnerabilities")
        compliances = _all(results, "compliances")
        summary: dict[str, Any] = {
            "console_url": doc["consoleURL"],
            "results": len(results),
            "artifacts": [_artifact(r) for r in results],
            "vulnerabilities": len(vulns),
            "by_severity": count_by(vulns, lambda v: v.get("severity")),
            "compliance_issues": len(compliances),
            "compliance_by_severity": count_by(compliances, lambda c: c.get("severity")),
            "vulnerability_scan_passed": _passed(results, "vulnerabilityScanPassed"),
            "compliance_scan_passed": _passed(results, "complianceScanPassed"),
        }
        return crafted(
            self.kind,
            name,
            path,
            digest,
            size,
            summary,
            tools_annotations([{"name": "twistcli", "version": None}]),
        )
