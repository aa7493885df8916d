"""BLACKDUCK_SCA_JSON: a Black Duck SCA project version report in JSON.

Black Duck (Synopsys, now Black Duck Software) writes this report from a project version's
"Reports" tab (or ``POST /api/versions/{id}/reports`` with ``reportFormat: JSON``): one object
with a ``detailed...`` array per report section (``detailedVulnerabilities``,
``detailedCodeLocations``, ``detailedProjectVersionCustomFields``, ``aggregateBomViewEntries``,
...). Black Duck publishes no schema for it and no PyPI package reads it, so the checks are
written by hand: as Chainloop does, the three sections ``detailedVulnerabilities``,
``detailedProjectVersionCustomFields`` and ``detailedCodeLocations`` must be present and not
null; here they must also be arrays, and every vulnerability an object with a string
``vulnerabilityId`` (``BDSA-...`` or ``CVE-...``).

The summary counts vulnerabilities by severity and remediation status and names the project
version (from ``detailedReleaseSummary`` or the vulnerabilities' ``projectVersionPathSummary``).
The report does not say which Black Duck version wrote it, so the tool is ``blackduck`` alone.
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

REQUIRED_SECTIONS = (
    "detailedVulnerabilities",
    "detailedProjectVersionCustomFields",
    "detailedCodeLocations",
)
"""The report sections Chainloop requires; their presence is the format's fingerprint."""

_LABEL = "Black Duck SCA JSON"
_PATTERNS = tuple(re.compile(rb'"' + key.encode() + rb'"\s*:\s*\[') for key in REQUIRED_SECTIONS)
_HINT = "export it from the project version's Reports tab (Version report, JSON format)"


def _is_report(doc: Any) -> bool:
    return isinstance(doc, dict) and all(isinstance(doc.get(k), list) for k in REQUIRED_SECTIONS)


def _check(filename: str, doc: Any) -> list[dict[str, Any]]:
    """The report's vulnerabilities; MaterialError on the first structural problem."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: the top level is {type_name(doc)}, "
            "not an object",
            hint=_HINT,
        )
    missing = [k for k in REQUIRED_SECTIONS if k not in doc]
    if missing:
        raise MaterialError(
            f"{filename} is not a {_LABEL} report: missing {', '.join(missing)}", hint=_HINT
        )
    for key in REQUIRED_SECTIONS:
        if not isinstance(doc[key], list):
            raise field_error(filename, _LABEL, key, f"is {type_name(doc[key])}, not an array")
    vulns: list[dict[str, Any]] = doc["detailedVulnerabilities"]
    for index, vuln in enumerate(vulns):
        where = f"detailedVulnerabilities[{index}]"
        if not isinstance(vuln, dict):
            raise field_error(filename, _LABEL, where, f"is {type_name(vuln)}, not an object")
        if not isinstance(vuln.get("vulnerabilityId"), str) or not vuln["vulnerabilityId"]:
            raise field_error(filename, _LABEL, where, "has no string 'vulnerabilityId'")
        severity = vuln.get("severity")
        if severity is not None and not isinstance(severity, str):
            raise field_error(filename, _LABEL, f"{where} severity", "is not a string")
    return vulns


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _project(doc: dict[str, Any], vulns: list[dict[str, Any]]) -> dict[str, str | None]:
    """Project name and version of the report, when it says."""
    release = doc.get("detailedReleaseSummary")
    if isinstance(release, dict) and _text(release.get("projectName")):
        return {"name": release["projectName"], "version": _text(release.get("version"))}
    for vuln in vulns:
        path = vuln.get("projectVersionPathSummary")
        if isinstance(path, dict) and _text(path.get("projectName")):
            return {"name": path["projectName"], "version": _text(path.get("versionName"))}
    return {"name": None, "version": None}


def _component(vuln: dict[str, Any]) -> str:
    name = _text(vuln.get("producerProjectName")) or _text(vuln.get("componentName")) or "?"
    version = _text(vuln.get("producerVersion")) or _text(vuln.get("componentVersionName"))
    return f"{name}@{version}" if version else name


class BlackduckScaJsonHandler:
    """Validates a Black Duck SCA JSON version report and counts its vulnerabilities."""

    kind: ClassVar[str] = "BLACKDUCK_SCA_JSON"

    def accepts(self, value: str) -> bool:
        """A JSON object with the ``detailedVulnerabilities``, ``detailedCodeLocations`` and
        ``detailedProjectVersionCustomFields`` arrays."""
        found = sniff_json(value, b"{", (), _PATTERNS)
        if isinstance(found, dict):
            return _is_report(found)
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a document without the
        required report sections, or a vulnerability without its id."""
        path, digest, size, doc = load_json(self.kind, _LABEL, value)
        vulns = _check(path.name, doc)
        summary: dict[str, Any] = {
            "project": _project(doc, vulns),
            "vulnerabilities": len(vulns),
            "by_severity": count_by(vulns, lambda v: v.get("severity")),
            "by_remediation_status": count_by(vulns, lambda v: v.get("remediationStatus")),
            "vulnerability_ids": len({v["vulnerabilityId"] for v in vulns}),
            "components_affected": len({_component(v) for v in vulns}),
            "code_locations": len(doc["detailedCodeLocations"]),
        }
        return crafted(
            self.kind,
            name,
            path,
            digest,
            size,
            summary,
            tools_annotations([{"name": "blackduck", "version": None}]),
        )
