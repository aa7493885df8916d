"""GITLAB_SECURITY_REPORT: a GitLab security report (``gl-sast-report.json`` and friends).

GitLab publishes its report schemas in gitlab-org/security-products/security-report-schemas, on
gitlab.com only: no PyPI package ships them and they could not be vendored here, so the checks
are written by hand after the required parts those schemas share: a string ``version``, a
``vulnerabilities`` array (each an object with an ``identifiers`` array and, when present, a
severity among GitLab's values), and a ``scan`` object with a known ``type`` and a ``scanner``
naming its ``id`` and ``name``. The analyzer (``scan.analyzer``) and scanner are recorded as
tools (once when they are the same); the summary counts vulnerabilities by severity, those
without one as ``Unknown``.
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

SCAN_TYPE_VALUES = (
    "api_fuzzing",
    "cluster_image_scanning",
    "container_scanning",
    "coverage_fuzzing",
    "dast",
    "dependency_scanning",
    "sast",
    "secret_detection",
)
"""``scan.type`` values of GitLab's report schemas (one schema per type)."""

SEVERITIES = ("Critical", "High", "Medium", "Low", "Info", "Unknown")

_LABEL = "GitLab security"
_VULNS = re.compile(rb'"vulnerabilities"\s*:\s*\[')
_SCAN = re.compile(rb'"scan"\s*:\s*\{')
_SCAN_TYPE = re.compile(rb'"type"\s*:\s*"(?:' + "|".join(SCAN_TYPE_VALUES).encode() + rb')"')


def _is_report(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("vulnerabilities"), list)
        and isinstance(doc.get("scan"), dict)
        and isinstance(doc["scan"].get("type"), str)
    )


def _tool(obj: Any) -> dict[str, str | None] | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    version = obj.get("version")
    return {"name": obj["name"], "version": str(version) if version else None}


def _check(filename: str, doc: Any) -> dict[str, Any]:
    """The report's ``scan`` object; MaterialError on the first structural problem."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: the top level is {type_name(doc)}, not an object"
        )
    scan = doc.get("scan")
    if not isinstance(scan, dict) or "vulnerabilities" not in doc:
        missing = [k for k in ("scan", "vulnerabilities") if k not in doc]
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: "
            + (f"missing {', '.join(missing)}" if missing else "scan is not an object"),
            hint="GitLab analyzers write it as gl-<type>-report.json",
        )
    if not isinstance(doc.get("version"), str):
        raise field_error(filename, _LABEL, "version", "is missing or not a string")
    scan_type = scan.get("type")
    if scan_type not in SCAN_TYPE_VALUES:
        raise field_error(
            filename,
            _LABEL,
            "scan.type",
            f"is {scan_type!r}; expected one of {', '.join(SCAN_TYPE_VALUES)}",
        )
    scanner = scan.get("scanner")
    if not isinstance(scanner, dict) or not all(
        isinstance(scanner.get(k), str) for k in ("id", "name")
    ):
        raise field_error(filename, _LABEL, "scan.scanner", "needs a string id and name")
    vulns = doc["vulnerabilities"]
    if not isinstance(vulns, list):
        raise field_error(filename, _LABEL, "vulnerabilities", "is not an array")
    for index, vuln in enumerate(vulns):
        where = f"vulnerabilities[{index}]"
        if not isinstance(vuln, dict):
            raise field_error(filename, _LABEL, where, "is not an object")
        if not isinstance(vuln.get("identifiers"), list) or not vuln["identifiers"]:
            raise field_error(filename, _LABEL, where, "has no identifiers")
        severity = vuln.get("severity")
        if severity is not None and severity not in SEVERITIES:
            raise field_error(
                filename,
                _LABEL,
                f"{where}.severity",
                f"is {severity!r}; expected one of {', '.join(SEVERITIES)}",
            )
    return scan


class GitlabSecurityReportHandler:
    """Validates a GitLab security report's structure and counts vulnerabilities."""

    kind: ClassVar[str] = "GITLAB_SECURITY_REPORT"

    def accepts(self, value: str) -> bool:
        """A JSON object with a ``vulnerabilities`` array and a ``scan`` of a GitLab type."""
        found = sniff_json(value, b"{", (), (_VULNS, _SCAN, _SCAN_TYPE))
        if isinstance(found, dict):
            return _is_report(found)
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a document without scan
        or vulnerabilities, an unknown scan.type, or a malformed vulnerability."""
        path, digest, size, doc = load_json(self.kind, _LABEL, value)
        scan = _check(path.name, doc)
        vulns: list[dict[str, Any]] = doc["vulnerabilities"]
        tools: list[dict[str, str | None]] = []
        for tool in (_tool(scan.get("analyzer")), _tool(scan.get("scanner"))):
            if tool and tool not in tools:  # analyzers often wrap a scanner of the same name
                tools.append(tool)
        summary: dict[str, Any] = {
            "version": doc["version"],
            "scan_type": scan["type"],
            "status": scan.get("status") if isinstance(scan.get("status"), str) else None,
            "scanner": _tool(scan["scanner"]),
            "analyzer": _tool(scan.get("analyzer")),
            "vulnerabilities": len(vulns),
            # no severity is GitLab's "Unknown", not a separate key
            "by_severity": count_by(vulns, lambda v: v.get("severity") or "Unknown"),
        }
        annotations = tools_annotations(tools)
        annotations[SCAN_TYPES] = scan["type"]
        return crafted(self.kind, name, path, digest, size, summary, annotations)
