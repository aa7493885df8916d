"""CHECKMARX_JSON: the native JSON report of Checkmarx One (``cx ... --report-format json``).

The Checkmarx One CLI (github.com/Checkmarx/ast-cli) writes its ``ScanResultsCollection``
(``internal/wrappers/results-json.go``): an object with the ``scanID``, a ``totalCount`` and a
``results`` array holding the findings of every engine that ran, each tagged by ``type``
(``sast``, ``sca``, ``kics``, ``containers``, ``sscs``...) with an engine-specific ``data``
object. Checkmarx publishes no schema for it and no PyPI package reads it, so the checks are
written by hand after those structs and Chainloop's rules: ``scanID`` must be a non-empty string
and ``results`` present (an empty array or ``null`` is a clean scan); every result must be an
object with a non-empty string ``type`` and a ``data`` object.

Like Chainloop, the engines that produced findings are normalised to scan types
(``sast``, ``sca``, ``iac``, ``container``, ``supply-chain``; unknown engines are left out) and
recorded, sorted and comma-separated, in the ``chainproof.material.scan.types`` annotation,
omitted when there is none. The summary counts results by engine, severity and state.

The shape is too generic to recognise from content (Chainloop does not auto-detect it either):
give ``--kind CHECKMARX_JSON``. The Checkmarx One *Reports* service's JSON ("improved scan
report", with ``reportHeader`` and ``scanResults``) is a different document and is refused
with a hint; so is Checkmarx SARIF, which is the SARIF kind.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chainproof.core.materials._report import (
    SCAN_TYPES,
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

ENGINE_SCAN_TYPES = {
    "sast": "sast",
    "sca": "sca",
    "kics": "iac",
    "containers": "container",
    "sscs": "supply-chain",
}
"""Checkmarx engine (a result's ``type``) -> scan type, as Chainloop normalises them."""

_LABEL = "Checkmarx One JSON"
_HINT = "write it with cx results show --scan-id <id> --report-format json"
_RESULTS = re.compile(rb'"results"\s*:\s*(?:\[|null)')
# ast-cli marshals ScanResultsCollection in field order: results, totalCount, scanID. A large
# report is recognised by that ending (twistcli results carry a "scanID" of their own).
_ENDING = re.compile(rb'"totalCount"\s*:\s*\d+\s*,\s*"scanID"\s*:\s*"[^"]+"\s*\}\s*\Z')


def _is_report(doc: Any) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("scanID"), str) or not doc["scanID"]:
        return False
    results = doc.get("results", False)
    return results is None or (
        isinstance(results, list)
        and all(isinstance(r, dict) and isinstance(r.get("type"), str) for r in results)
    )


def _check_header(filename: str, doc: Any) -> None:
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: the top level is {type_name(doc)}, "
            "not an object",
            hint=_HINT,
        )
    if "runs" in doc and "scanID" not in doc:
        raise MaterialError(
            f"{filename} is a SARIF log, not a {_LABEL} report", hint="add it with --kind SARIF"
        )
    if isinstance(doc.get("reportHeader"), dict) and "scanID" not in doc:
        raise MaterialError(
            f"{filename} is a Checkmarx One Reports-service scan report, not the native "
            f"{_LABEL} report",
            hint=f"{_HINT}, or add the report as EVIDENCE",
        )
    missing = [k for k in ("scanID", "results") if k not in doc]
    if missing:
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: missing {', '.join(missing)}", hint=_HINT
        )
    if not isinstance(doc["scanID"], str) or not doc["scanID"]:
        raise field_error(filename, _LABEL, "scanID", "is not a non-empty string")
    total = doc.get("totalCount")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool) or total < 0):
        raise field_error(filename, _LABEL, "totalCount", "is not a non-negative integer")


def _check(filename: str, doc: Any) -> list[dict[str, Any]]:
    """The report's results; MaterialError on the first structural problem."""
    _check_header(filename, doc)
    results = doc["results"]
    if results is None:  # ast-cli writes null when a scan or its filters leave no finding
        return []
    if not isinstance(results, list):
        raise field_error(filename, _LABEL, "results", f"is {type_name(results)}, not an array")
    for index, result in enumerate(results):
        where = f"results[{index}]"
        if not isinstance(result, dict):
            raise field_error(filename, _LABEL, where, f"is {type_name(result)}, not an object")
        if not isinstance(result.get("type"), str) or not result["type"]:
            raise field_error(filename, _LABEL, where, "has no engine 'type'")
        if not isinstance(result.get("data"), dict):
            raise field_error(filename, _LABEL, where, "has no 'data' object")
        for key in ("severity", "state", "status"):
            if key in result and not isinstance(result[key], str):
                raise field_error(filename, _LABEL, f"{where} {key}", "is not a string")
    return results


def scan_types(results: list[dict[str, Any]]) -> list[str]:
    """The sorted scan types of the engines that produced ``results`` (unknown ones left out)."""
    found = {ENGINE_SCAN_TYPES.get(str(r["type"]).lower()) for r in results}
    return sorted(t for t in found if t)


class CheckmarxJsonHandler:
    """Validates a Checkmarx One native JSON report and counts its results per engine."""

    kind: ClassVar[str] = "CHECKMARX_JSON"

    def accepts(self, value: str) -> bool:
        """A JSON object with a non-empty ``scanID`` and a ``results`` array (or null) of
        typed results; a file too large to parse here must start with ``results`` and end with
        ``totalCount`` and ``scanID``, as ast-cli writes them. Too generic to be trusted for
        detection: not in the detection order."""
        found = sniff_json(value, b"{", (_RESULTS,), (_ENDING,))
        if isinstance(found, dict):
            return _is_report(found)
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a SARIF log or a
        Reports-service report, a document without ``scanID``/``results``, or a result
        without its engine ``type`` or ``data``."""
        path, digest, size, doc = load_json(self.kind, _LABEL, value)
        results = _check(path.name, doc)
        types = scan_types(results)
        total = doc.get("totalCount")
        summary: dict[str, Any] = {
            "scan_id": doc["scanID"],
            "total_count": total if isinstance(total, int) else None,
            "results": len(results),
            "by_engine": count_by(results, lambda r: str(r["type"]).lower()),
            "by_severity": count_by(results, lambda r: r.get("severity")),
            "by_state": count_by(results, lambda r: r.get("state")),
            "scan_types": types,
        }
        annotations = tools_annotations([{"name": "checkmarx", "version": None}])
        if types:
            annotations[SCAN_TYPES] = ",".join(types)
        return crafted(self.kind, name, path, digest, size, summary, annotations)
