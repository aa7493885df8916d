"""SARIF: a SARIF 2.1.0 log, validated against the published SARIF 2.1.0 JSON schema.

The schema is vendored in ``schemas/sarif-schema-2.1.0.json`` (see ``schemas/README.md``: no
PyPI package ships it) and applied by ``_schema.check_schema`` (jsonschema, imported on first
use). As Chainloop does, the log must name its schema (``$schema``) and its ``version`` must be
``2.1.0``.

The summary counts results by their effective level (SARIF §3.27.10: an absent ``level`` comes
from the rule's ``defaultConfiguration``, else ``warning``; a result whose ``kind`` is not
``fail`` has level ``none``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    detect_document_kind,
    existing_file,
    kind_label,
    parse_json,
    read_document,
    shorten,
    sniff_json_object,
    tools_annotation,
)
from chainproof.core.materials._schema import check_schema
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    pass

SARIF_VERSION = "2.1.0"
SCHEMA_FILE = "sarif-schema-2.1.0.json"
LEVELS = ("error", "warning", "note", "none")

TOOLS = ANNOTATION_PREFIX + "tools"

_SCHEMA_HINT = re.compile(rb'"\$schema"\s*:\s*"[^"]*sarif', re.IGNORECASE)
_RUNS_HINT = re.compile(rb'"runs"\s*:')


def _looks_like_sarif(doc: dict[str, Any]) -> bool:
    """Has ``runs`` and names a SARIF schema or the SARIF version (craft checks the rest)."""
    schema = doc.get("$schema")
    named = isinstance(schema, str) and "sarif" in schema.lower()
    return "runs" in doc and (named or doc.get("version") == SARIF_VERSION)


def _check_header(filename: str, doc: Any) -> None:
    """MaterialError unless ``doc`` is a JSON object claiming to be a SARIF 2.1.0 log."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not a SARIF log: the top level is a JSON "
            f"{type(doc).__name__}, not an object"
        )
    other = detect_document_kind(doc)
    if other is not None:
        raise MaterialError(
            f"{filename} is a {kind_label(other)} document, not a SARIF log",
            hint=f"add it with --kind {other}, or give the SARIF file",
        )
    if "runs" not in doc:
        raise MaterialError(
            f"{filename} is not a SARIF log: it has no 'runs' (a SARIF log is "
            '{"$schema": ..., "version": "2.1.0", "runs": [...]})'
        )
    schema = doc.get("$schema")
    if not isinstance(schema, str) or not schema:
        raise MaterialError(
            f"{filename}: the SARIF log does not name its schema ($schema is missing)",
            hint='add "$schema": "https://json.schemastore.org/sarif-2.1.0.json"',
        )
    if "sarif" not in schema.lower():
        raise MaterialError(
            f"{filename}: $schema {shorten(schema, 100)!r} is not a SARIF schema",
            hint='use "$schema": "https://json.schemastore.org/sarif-2.1.0.json"',
        )
    version = doc.get("version")
    if version != SARIF_VERSION:
        found = "missing" if version is None else repr(version)
        raise MaterialError(
            f"{filename}: SARIF version is {found}; only {SARIF_VERSION} is supported",
            hint="convert older logs with the SARIF Multitool (sarif transform)",
        )


def _validate(path: Path, doc: dict[str, Any]) -> None:
    check_schema(
        SCHEMA_FILE,
        doc,
        document=path.name,
        label=f"SARIF {SARIF_VERSION} log",
        hint="check it against https://json.schemastore.org/sarif-2.1.0.json",
    )


def _driver_tool(run: dict[str, Any]) -> dict[str, str | None]:
    driver = run["tool"]["driver"]  # required by the schema
    version = driver.get("version") or driver.get("semanticVersion")
    return {"name": str(driver["name"]), "version": str(version) if version else None}


def _rule_levels(run: dict[str, Any]) -> tuple[list[str | None], dict[str, str]]:
    """Default levels of the driver's rules, by index and by id."""
    by_index: list[str | None] = []
    by_id: dict[str, str] = {}
    for rule in run["tool"]["driver"].get("rules") or []:
        level = (rule.get("defaultConfiguration") or {}).get("level")
        by_index.append(level)
        if level and isinstance(rule.get("id"), str):
            by_id[rule["id"]] = level
    return by_index, by_id


def _effective_level(
    result: dict[str, Any], by_index: list[str | None], by_id: dict[str, str]
) -> str:
    """SARIF §3.27.10: explicit level, else ``none`` for non-failures, else the rule's default
    level, else ``warning``."""
    level = result.get("level")
    if isinstance(level, str):
        return level
    if result.get("kind", "fail") != "fail":
        return "none"
    index = result.get("ruleIndex", (result.get("rule") or {}).get("index", -1))
    if isinstance(index, int) and 0 <= index < len(by_index) and by_index[index]:
        return str(by_index[index])
    rule_id = result.get("ruleId", (result.get("rule") or {}).get("id"))
    if isinstance(rule_id, str) and rule_id in by_id:
        return by_id[rule_id]
    return "warning"


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = doc["runs"]  # an array: checked by the schema
    levels = dict.fromkeys(LEVELS, 0)
    tools: list[dict[str, str | None]] = []
    rule_count = 0
    for run in runs:
        tool = _driver_tool(run)
        if tool not in tools:
            tools.append(tool)
        by_index, by_id = _rule_levels(run)
        rule_count += len(by_index)
        for result in run.get("results") or []:
            levels[_effective_level(result, by_index, by_id)] += 1
    first = tools[0] if tools else {"name": None, "version": None}
    return {
        "version": SARIF_VERSION,
        "tool": first,
        "tools": tools,
        "run_count": len(runs),
        "rule_count": rule_count,
        "result_count": sum(levels.values()),
        "results_by_level": levels,
    }


class SarifHandler:
    """Validates a SARIF 2.1.0 log against its schema and counts its results."""

    kind: ClassVar[str] = "SARIF"

    def accepts(self, value: str) -> bool:
        """A JSON file with ``runs`` whose ``$schema`` names SARIF or whose ``version`` is
        2.1.0 (valid or not: craft says why)."""
        found = sniff_json_object(value, _SCHEMA_HINT, _RUNS_HINT)
        if isinstance(found, dict):
            return _looks_like_sarif(found)
        return found

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, another format, a missing
        ``$schema``, a version other than 2.1.0, or schema violations (the first few)."""
        path = existing_file(self.kind, value)
        digest, size, text = read_document(self.kind, path)
        doc = parse_json("SARIF", path, text)
        _check_header(path.name, doc)
        _validate(path, doc)
        summary = _summary(doc)
        annotations: dict[str, str] = {}
        if summary["tools"]:
            annotations[TOOLS] = tools_annotation(summary["tools"])
        return CraftedMaterial(
            name=name,
            kind=self.kind,
            digest=digest,
            size=size,
            filename=path.name,
            upload_path=path.absolute(),
            annotations=annotations,
            summary=summary,
        )
