"""GITLEAKS_JSON: the JSON report of ``gitleaks detect --report-format json``.

Gitleaks publishes no JSON Schema for its report, so the checks here are written by hand after
its ``report.Finding`` struct (github.com/gitleaks/gitleaks, ``report/finding.go``): a JSON
array of findings, each an object with string ``RuleID``, ``Fingerprint`` and ``File`` (and
integer line numbers when present). An empty array is a clean scan and is valid.

The summary counts findings by rule and never includes the secrets (``Secret``, ``Match``).
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

_FINGERPRINT = re.compile(rb'"Fingerprint"\s*:\s*"')
_RULE_ID = re.compile(rb'"RuleID"\s*:\s*"')


# --- Gitleaks ---------------------------------------------------------------------------------


def is_gitleaks_finding(item: Any) -> bool:
    """Whether ``item`` looks like a Gitleaks finding (its ``RuleID`` and ``Fingerprint``)."""
    return (
        isinstance(item, dict)
        and isinstance(item.get("RuleID"), str)
        and isinstance(item.get("Fingerprint"), str)
    )


def _check_finding(filename: str, index: int, item: Any) -> None:
    where = f"finding [{index}]"
    if not isinstance(item, dict):
        raise field_error(filename, "Gitleaks", where, f"is {type_name(item)}, not an object")
    for key in ("RuleID", "Fingerprint", "File"):
        if not isinstance(item.get(key), str):
            problem = "is missing" if key not in item else "is not a string"
            raise field_error(filename, "Gitleaks", f"{where} {key}", problem)
    for key in ("StartLine", "EndLine", "StartColumn", "EndColumn"):
        if key in item and (not isinstance(item[key], int) or isinstance(item[key], bool)):
            raise field_error(filename, "Gitleaks", f"{where} {key}", "is not an integer")


class GitleaksJsonHandler:
    """Validates a Gitleaks JSON report and counts its findings by rule."""

    kind: ClassVar[str] = "GITLEAKS_JSON"

    def accepts(self, value: str) -> bool:
        """A JSON array whose first element is a Gitleaks finding. An empty array is not
        detected (it is also an empty GHAS alert list): give --kind GITLEAKS_JSON for it."""
        found = sniff_json(value, b"[", (_FINGERPRINT, _RULE_ID))
        if isinstance(found, list):
            return bool(found) and is_gitleaks_finding(found[0])
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a top level that is not an
        array, a GHAS alert list, or a finding without RuleID/Fingerprint/File."""
        path, digest, size, doc = load_json(self.kind, "Gitleaks JSON", value)
        if not isinstance(doc, list):
            raise MaterialError(
                f"{path.name} is not a Gitleaks JSON report: the top level is "
                f"{type_name(doc)}, expected an array of findings",
                hint="produce it with gitleaks --report-format json",
            )
        if doc and not is_gitleaks_finding(doc[0]):
            from chainproof.core.materials.ghas import ghas_kind_of

            other = ghas_kind_of(doc[0])
            if other is not None:
                raise MaterialError(
                    f"{path.name} is a GitHub {other[1]} alert list, not a Gitleaks report",
                    hint=f"add it with --kind {other[0]}",
                )
        for index, item in enumerate(doc):
            _check_finding(path.name, index, item)
        summary: dict[str, Any] = {
            "findings": len(doc),
            "by_rule": count_by(doc, lambda f: f.get("RuleID")),
            "files": len({f["File"] for f in doc}),
        }
        return crafted(
            self.kind,
            name,
            path,
            digest,
            size,
            summary,
            tools_annotations([{"name": "gitleaks", "version": None}]),
        )
