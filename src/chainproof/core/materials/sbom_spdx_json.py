"""SBOM_SPDX_JSON: an SPDX 2.2/2.3 JSON document, parsed and validated with spdx-tools.

The file is parsed once with ``json`` (for precise syntax errors and wrong-kind detection) and
the resulting dict is handed to spdx-tools' JSON-like-dict parser, then to
``validate_full_spdx_document``. spdx-tools is imported inside ``craft`` (about 0.3 s).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    detect_document_kind,
    existing_file,
    parse_json,
    read_document,
    shorten,
    sniff_json_object,
    tools_annotation,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError
from chainproof.extras import require

if TYPE_CHECKING:
    from spdx_tools.spdx.model.document import Document

SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
"""Versions spdx-tools 0.8 parses and validates from JSON."""

MAX_REPORTED_ERRORS = 3

MAIN_NAME = ANNOTATION_PREFIX + "sbom.main_component.name"
MAIN_VERSION = ANNOTATION_PREFIX + "sbom.main_component.version"
MAIN_TYPE = ANNOTATION_PREFIX + "sbom.main_component.type"
TOOLS = ANNOTATION_PREFIX + "tools"

_SNIFF = re.compile(rb'"spdxVersion"\s*:\s*"SPDX-|"SPDXID"\s*:\s*"SPDXRef-DOCUMENT"')
# "Tool: syft-1.14.0" -> ("syft", "1.14.0"); "Tool: sbom-tool-2.2.8" -> ("sbom-tool", "2.2.8")
_TOOL = re.compile(r"(?P<name>.+?)-(?P<version>v?\d[\w.+-]*)")


def _split_tool(text: str) -> dict[str, str | None]:
    match = _TOOL.fullmatch(text.strip())
    if match is None:
        return {"name": text.strip(), "version": None}
    return {"name": match["name"], "version": match["version"]}


def _check_header(filename: str, doc: Any) -> str:
    """The document's ``spdxVersion``; MaterialError if it is not an SPDX JSON document."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not an SPDX document: the top level is a JSON "
            f"{type(doc).__name__}, not an object"
        )
    if detect_document_kind(doc) == "SBOM_CYCLONEDX_JSON":
        raise MaterialError(
            f"{filename} is a CycloneDX document, not SPDX",
            hint="add it with --kind SBOM_CYCLONEDX_JSON, or give the SPDX SBOM",
        )
    version = doc.get("spdxVersion")
    if version is None:
        raise MaterialError(f"{filename} is not an SPDX document: spdxVersion is missing")
    if version not in SPDX_VERSIONS:
        raise MaterialError(
            f"{filename}: spdxVersion {version!r} is not supported; supported versions are "
            + ", ".join(SPDX_VERSIONS),
            hint="SPDX 3 (JSON-LD) is not supported yet",
        )
    return str(version)


def _parse(filename: str, version: str, doc: dict[str, Any]) -> Document:
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser

    label = version.removeprefix("SPDX-")
    try:
        # spdx-tools leaves JsonLikeDictParser.__init__ unannotated.
        return JsonLikeDictParser().parse(doc)  # type: ignore[no-untyped-call]
    except SPDXParsingError as exc:
        messages = [shorten(str(m), 240) for m in exc.messages]
        raise MaterialError(
            f"{filename} is not a valid SPDX {label} document: "
            + "; ".join(messages[:MAX_REPORTED_ERRORS])
            + (
                f" (and {len(messages) - MAX_REPORTED_ERRORS} more)"
                if len(messages) > MAX_REPORTED_ERRORS
                else ""
            )
        ) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # NOTE: spdx-tools lets some malformed shapes through to plain Python errors.
        raise MaterialError(
            f"{filename} is not a valid SPDX {label} document: malformed structure "
            f"({type(exc).__name__}: {shorten(str(exc), 120)})"
        ) from exc


def _validate(filename: str, version: str, document: Document) -> None:
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    messages = validate_full_spdx_document(document, version)
    if not messages:
        return
    shown = []
    for msg in messages[:MAX_REPORTED_ERRORS]:
        where = msg.context.spdx_id or (
            msg.context.element_type.name.lower() if msg.context.element_type else None
        )
        text = shorten(msg.validation_message, 200)
        shown.append(f"{where}: {text}" if where else text)
    more = len(messages) - MAX_REPORTED_ERRORS
    raise MaterialError(
        f"{filename} is not a valid SPDX {version.removeprefix('SPDX-')} document: "
        + "; ".join(shown)
        + (f" (and {more} more)" if more > 0 else ""),
        hint="see https://spdx.github.io/spdx-spec/v2.3/",
    )


def _main_package(document: Document) -> dict[str, str | None] | None:
    """The first package the document DESCRIBES (or that is DESCRIBED_BY the document)."""
    from spdx_tools.spdx.model.relationship import RelationshipType

    doc_id = document.creation_info.spdx_id
    described: list[str] = []
    for rel in document.relationships:
        related = rel.related_spdx_element_id
        if not isinstance(related, str):  # SpdxNone / SpdxNoAssertion
            continue
        if rel.relationship_type == RelationshipType.DESCRIBES and rel.spdx_element_id == doc_id:
            described.append(related)
        elif rel.relationship_type == RelationshipType.DESCRIBED_BY and related == doc_id:
            described.append(rel.spdx_element_id)
    packages = {p.spdx_id: p for p in document.packages}
    for spdx_id in described:
        pkg = packages.get(spdx_id)
        if pkg is not None:
            purpose = pkg.primary_package_purpose
            return {
                "name": pkg.name,
                "version": pkg.version,
                "type": purpose.name.lower() if purpose is not None else None,
                "spdx_id": pkg.spdx_id,
            }
    return None


class SpdxJsonHandler:
    """Parses and validates an SPDX JSON document and summarises it."""

    kind: ClassVar[str] = "SBOM_SPDX_JSON"

    def accepts(self, value: str) -> bool:
        """A JSON file that declares an ``spdxVersion`` (valid or not: craft says why)."""
        found = sniff_json_object(value, _SNIFF)
        if isinstance(found, dict):
            return detect_document_kind(found) == self.kind
        return found

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, another format, an
        unsupported spdxVersion, or parse/validation errors (the first few)."""
        require("spdx_tools", "spdx", needed_by=self.kind)
        from spdx_tools.spdx.model.actor import ActorType

        path = existing_file(self.kind, value)
        digest, size, text = read_document(self.kind, path)
        doc = parse_json("SPDX", path, text)
        version = _check_header(path.name, doc)
        document = _parse(path.name, version, doc)
        _validate(path.name, version, document)

        tools = [
            _split_tool(actor.name)
            for actor in document.creation_info.creators
            if actor.actor_type == ActorType.TOOL
        ]
        main = _main_package(document)
        summary: dict[str, Any] = {
            "spdx_version": version,
            "name": document.creation_info.name,
            "package_count": len(document.packages),
            "tools": tools,
            "main_package": main,
        }
        annotations: dict[str, str] = {}
        if main:
            for key, field in ((MAIN_NAME, "name"), (MAIN_VERSION, "version"), (MAIN_TYPE, "type")):
                if main[field]:
                    annotations[key] = str(main[field])
        if tools:
            annotations[TOOLS] = tools_annotation(tools)
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
