"""OPENVEX: an OpenVEX document (the format ``vexctl`` writes), validated against the published
OpenVEX JSON schema.

The schema (OpenVEX v0.2.0, openvex/spec ``openvex_json_schema.json``) is vendored in
``schemas/openvex-schema-0.2.0.json`` (see ``schemas/README.md``). Before it, the document's
``@context`` must start with ``https://openvex.dev/ns``, which is what marks a JSON-LD document
as OpenVEX. The schema also carries the spec's statement rules: a ``not_affected`` statement
needs a justification or an impact statement, an ``affected`` one an action statement.

The summary counts statements by status and distinct vulnerabilities, and gives the author,
role, document version and spec version (from the ``@context``). ``tooling``, a free-text field,
becomes the tool annotation (``vexctl/0.3.0`` reads as name ``vexctl``, version ``0.3.0``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chainproof.core.materials._common import detect_document_kind, kind_label, shorten
from chainproof.core.materials._report import (
    crafted,
    load_json,
    sniff_json,
    tools_annotations,
    type_name,
)
from chainproof.core.materials._vex import (
    OPENVEX_CONTEXT,
    check_schema,
    csaf_kind_of,
    is_csaf,
    schema_validator,
    text_or_none,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

SCHEMA_FILE = "openvex-schema-0.2.0.json"
STATUSES = ("not_affected", "affected", "fixed", "under_investigation")

_LABEL = "OpenVEX"
_SCHEMA_HINT = (
    "check it against the OpenVEX v0.2.0 schema "
    "(https://github.com/openvex/spec/blob/main/openvex_json_schema.json)"
)
_CONTEXT = re.compile(rb'"@context"\s*:\s*"https://openvex\.dev/ns')
_VERSION_IN_CONTEXT = re.compile(r"/(v\d+(?:\.\d+)*)$")
_TOOL_AND_VERSION = re.compile(r"(.+?)[/@ ](v?\d[\w.+\-]*)")


def _tool(tooling: Any) -> dict[str, str | None] | None:
    """``vexctl/0.3.0`` -> ``{name: vexctl, version: 0.3.0}``; other text is the name."""
    text = text_or_none(tooling.strip() if isinstance(tooling, str) else None)
    if text is None:
        return None
    match = _TOOL_AND_VERSION.fullmatch(text)
    if match:
        return {"name": match.group(1), "version": match.group(2)}
    return {"name": shorten(text, 100), "version": None}


def summarise(doc: dict[str, Any]) -> dict[str, Any]:
    """The summary of a valid OpenVEX document."""
    statements: list[dict[str, Any]] = doc["statements"]
    by_status = dict.fromkeys(STATUSES, 0)
    for statement in statements:
        by_status[statement["status"]] += 1
    version = _VERSION_IN_CONTEXT.search(doc["@context"])
    return {
        "spec_version": version.group(1) if version else None,
        "id": doc["@id"],
        "author": doc["author"],
        "role": doc.get("role"),
        "version": doc["version"],
        "timestamp": doc["timestamp"],
        "statements": len(statements),
        "statements_by_status": by_status,
        "vulnerabilities": len({s["vulnerability"]["name"] for s in statements}),
        "tool": _tool(doc.get("tooling")),
    }


def _check_header(filename: str, doc: Any) -> None:
    """MaterialError unless ``doc`` is a JSON object with an OpenVEX ``@context``."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not an OpenVEX document: the top level is {type_name(doc)}, "
            "not an object"
        )
    if is_csaf(doc):
        csaf_kind = csaf_kind_of(doc)
        raise MaterialError(
            f"{filename} is a CSAF document, not an OpenVEX document",
            hint=f"add it with --kind {csaf_kind}" if csaf_kind else None,
        )
    other = detect_document_kind(doc)
    if other is not None:
        raise MaterialError(
            f"{filename} is a {kind_label(other)} document, not an OpenVEX document",
            hint=f"add it with --kind {other}",
        )
    context = doc.get("@context")
    if context is None:
        raise MaterialError(
            f"{filename} is not an OpenVEX document: it has no @context (an OpenVEX document "
            'starts {"@context": "https://openvex.dev/ns/v0.2.0", ...})'
        )
    if not isinstance(context, str) or not context.startswith(OPENVEX_CONTEXT):
        found = repr(shorten(context, 80)) if isinstance(context, str) else type_name(context)
        raise MaterialError(
            f"{filename} is not a valid OpenVEX document: /@context: "
            f"'{OPENVEX_CONTEXT}/...' expected, found {found}",
            hint='use "@context": "https://openvex.dev/ns/v0.2.0"',
        )


class OpenVexHandler:
    """Validates an OpenVEX document against its schema and counts its statements."""

    kind: ClassVar[str] = "OPENVEX"

    def accepts(self, value: str) -> bool:
        """A JSON object whose ``@context`` starts with https://openvex.dev/ns (valid or not:
        craft says why)."""
        found = sniff_json(value, b"{", (_CONTEXT,))
        if isinstance(found, dict):
            context = found.get("@context")
            return isinstance(context, str) and context.startswith(OPENVEX_CONTEXT)
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, another format (a CSAF
        document names its kind), a missing or foreign ``@context``, or schema violations
        (the first few, each with its JSON pointer)."""
        path, digest, size, doc = load_json(self.kind, _LABEL, value)
        _check_header(path.name, doc)
        check_schema(
            schema_validator(SCHEMA_FILE), doc, filename=path.name, label=_LABEL, hint=_SCHEMA_HINT
        )
        summary = summarise(doc)
        tool = summary["tool"]
        return crafted(
            self.kind, name, path, digest, size, summary, tools_annotations([tool] if tool else [])
        )
