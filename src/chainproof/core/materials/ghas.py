"""GHAS_CODE_SCAN, GHAS_SECRET_SCAN, GHAS_DEPENDENCY_SCAN: GitHub Advanced Security alert lists.

Each is the JSON array the GitHub REST API returns for a repository's alerts:

- code scanning (``GET /repos/{owner}/{repo}/code-scanning/alerts``): alerts with ``rule``
  and ``tool`` objects;
- secret scanning (``.../secret-scanning/alerts``): alerts with a ``secret_type``;
- Dependabot (``.../dependabot/alerts``): alerts with ``dependency`` and ``security_advisory``.

GitHub publishes these shapes in its OpenAPI description (github/rest-api-description), not as
standalone JSON Schemas, and no PyPI package ships them; the checks are written by hand after
those documented alert objects. Every alert needs an integer ``number``, a string ``state`` and
its kind's fields. An empty array is valid (no alerts). The summaries count alerts by state and
by severity and never include secrets (secret scanning's ``secret`` field).
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
from chainproof.core.materials.gitleaks_json import is_gitleaks_finding
from chainproof.errors import MaterialError

CODE_SCAN = "GHAS_CODE_SCAN"
SECRET_SCAN = "GHAS_SECRET_SCAN"  # noqa: S105 - a kind name, not a secret
DEPENDENCY_SCAN = "GHAS_DEPENDENCY_SCAN"

_LABELS = {
    CODE_SCAN: "code scanning",
    SECRET_SCAN: "secret scanning",
    DEPENDENCY_SCAN: "Dependabot",
}

_NUMBER = re.compile(rb'"number"\s*:\s*\d')
_HEAD_PATTERNS: dict[str, tuple[re.Pattern[bytes], ...]] = {
    CODE_SCAN: (_NUMBER, re.compile(rb'"rule"\s*:\s*\{'), re.compile(rb'"tool"\s*:\s*\{')),
    SECRET_SCAN: (_NUMBER, re.compile(rb'"secret_type"\s*:\s*"')),
    DEPENDENCY_SCAN: (
        _NUMBER,
        re.compile(rb'"dependency"\s*:\s*\{'),
        re.compile(rb'"security_advisory"\s*:\s*\{'),
    ),
}


def ghas_kind_of(alert: Any) -> tuple[str, str] | None:
    """(kind, label) of the GHAS alert type ``alert`` looks like, or None."""
    number = alert.get("number") if isinstance(alert, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        return None
    if isinstance(alert.get("rule"), dict) and isinstance(alert.get("tool"), dict):
        return CODE_SCAN, _LABELS[CODE_SCAN]
    if isinstance(alert.get("secret_type"), str):
        return SECRET_SCAN, _LABELS[SECRET_SCAN]
    if isinstance(alert.get("dependency"), dict) and isinstance(
        alert.get("security_advisory"), dict
    ):
        return DEPENDENCY_SCAN, _LABELS[DEPENDENCY_SCAN]
    return None


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _distinct(alerts: list[dict[str, Any]], *keys: str) -> set[str]:
    """The distinct string values at ``keys`` (a null rule id is not a rule)."""
    return {v for a in alerts if isinstance(v := _get(a, *keys), str) and v}


def _code_severity(alert: dict[str, Any]) -> Any:
    """The security severity (critical/high/medium/low) of security rules, else the rule's
    severity (error/warning/note/none)."""
    rule = alert.get("rule") or {}
    return rule.get("security_severity_level") or rule.get("severity")


class _GhasHandler:
    """Shared validation of a GHAS alert array; subclasses name the alert type's fields."""

    kind: ClassVar[str]
    _required_objects: ClassVar[tuple[str, ...]] = ()
    _required_strings: ClassVar[tuple[str, ...]] = ()

    @property
    def _label(self) -> str:
        return f"GHAS {_LABELS[self.kind]}"

    def accepts(self, value: str) -> bool:
        """A JSON array whose first element is an alert of this type. An empty array is not
        detected (it is valid, but says nothing of its type): give --kind for it."""
        found = sniff_json(value, b"[", _HEAD_PATTERNS[self.kind])
        if isinstance(found, list):
            return bool(found) and (ghas_kind_of(found[0]) or ("", ""))[0] == self.kind
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a top level that is not an
        array, another alert type or a Gitleaks report, or an alert missing its fields."""
        path, digest, size, doc = load_json(self.kind, self._label, value)
        if not isinstance(doc, list):
            raise MaterialError(
                f"{path.name} is not a {self._label} alert list: the top level is "
                f"{type_name(doc)}, expected the array the GitHub REST API returns",
            )
        if doc:
            first = doc[0]
            other = ghas_kind_of(first)
            if other is not None and other[0] != self.kind:
                raise MaterialError(
                    f"{path.name} is a GitHub {other[1]} alert list, not {_LABELS[self.kind]}",
                    hint=f"add it with --kind {other[0]}",
                )
            if is_gitleaks_finding(first):
                raise MaterialError(
                    f"{path.name} is a Gitleaks report, not a {self._label} alert list",
                    hint="add it with --kind GITLEAKS_JSON",
                )
        for index, alert in enumerate(doc):
            self._check_alert(path.name, index, alert)
        summary: dict[str, Any] = {
            "alerts": len(doc),
            "by_state": count_by(doc, lambda a: a.get("state")),
            **self._summarise(doc),
        }
        return crafted(
            self.kind, name, path, digest, size, summary, tools_annotations(self._tools(doc))
        )

    def _check_alert(self, filename: str, index: int, alert: Any) -> None:
        where = f"alert [{index}]"
        if not isinstance(alert, dict):
            raise field_error(filename, self._label, where, f"is {type_name(alert)}, not an object")
        number = alert.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            raise field_error(filename, self._label, where, "has no integer 'number'")
        if not isinstance(alert.get("state"), str):
            raise field_error(filename, self._label, where, "has no string 'state'")
        for key in self._required_objects:
            if not isinstance(alert.get(key), dict):
                raise field_error(filename, self._label, where, f"has no '{key}' object")
        for key in self._required_strings:
            if not isinstance(alert.get(key), str):
                raise field_error(filename, self._label, where, f"has no string '{key}'")

    def _summarise(self, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def _tools(self, alerts: list[dict[str, Any]]) -> list[dict[str, str | None]]:
        return []


class GhasCodeScanHandler(_GhasHandler):
    """GitHub code scanning alerts: counts by state, severity and tool."""

    kind: ClassVar[str] = CODE_SCAN
    _required_objects = ("rule", "tool")

    def _check_alert(self, filename: str, index: int, alert: Any) -> None:
        super()._check_alert(filename, index, alert)
        if not isinstance(alert["tool"].get("name"), str):
            raise field_error(filename, self._label, f"alert [{index}]", "tool has no name")

    def _summarise(self, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "by_severity": count_by(alerts, _code_severity),
            "by_tool": count_by(alerts, lambda a: a["tool"]["name"]),
            "rules": len(_distinct(alerts, "rule", "id")),
        }

    def _tools(self, alerts: list[dict[str, Any]]) -> list[dict[str, str | None]]:
        seen: dict[tuple[str, str | None], None] = {}
        for alert in alerts:
            tool = alert["tool"]
            version = tool.get("version")
            seen[(tool["name"], str(version) if version else None)] = None
        return [{"name": n, "version": v} for n, v in seen]


class GhasSecretScanHandler(_GhasHandler):
    """GitHub secret scanning alerts: counts by state, secret type and validity."""

    kind: ClassVar[str] = SECRET_SCAN
    _required_strings = ("secret_type",)

    def _summarise(self, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "by_secret_type": count_by(alerts, lambda a: a.get("secret_type")),
            "by_validity": count_by(alerts, lambda a: a.get("validity")),
            "push_protection_bypassed": sum(
                1 for a in alerts if a.get("push_protection_bypassed") is True
            ),
        }


class GhasDependencyScanHandler(_GhasHandler):
    """Dependabot alerts: counts by state, advisory severity and ecosystem."""

    kind: ClassVar[str] = DEPENDENCY_SCAN
    _required_objects = ("dependency", "security_advisory")

    def _summarise(self, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "by_severity": count_by(
                alerts,
                lambda a: (
                    _get(a, "security_advisory", "severity")
                    or _get(a, "security_vulnerability", "severity")
                ),
            ),
            "by_ecosystem": count_by(
                alerts, lambda a: _get(a, "dependency", "package", "ecosystem")
            ),
            "advisories": len(_distinct(alerts, "security_advisory", "ghsa_id")),
        }
