"""SBOM_CYCLONEDX_JSON: a CycloneDX JSON BOM, schema-validated for its ``specVersion``.

Validation applies the official CycloneDX JSON schemas that cyclonedx-python-lib ships (strict
variants where they exist) with jsonschema-rs, which is fast enough for 100k-component BOMs.
The file is read and parsed once; the parsed document is both validated and summarised.
cyclonedx and jsonschema_rs are imported inside ``craft`` so that importing this module stays
cheap.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from pathlib import Path
from typing import Any, ClassVar

from chainproof.core.digest import Digest
from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    detect_document_kind,
    existing_file,
    parse_json,
    read_document,
    read_head,
    shorten,
    sniff_json_object,
    tools_annotation,
)
from chainproof.core.materials._report import read_tail
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
"""CycloneDX versions with a JSON schema in cyclonedx-python-lib (1.0/1.1 were XML only)."""

MAX_REPORTED_ERRORS = 3
_COUNT_ERRORS_UP_TO = 100

MAIN_NAME = ANNOTATION_PREFIX + "sbom.main_component.name"
MAIN_VERSION = ANNOTATION_PREFIX + "sbom.main_component.version"
MAIN_TYPE = ANNOTATION_PREFIX + "sbom.main_component.type"
VULNERABILITIES = ANNOTATION_PREFIX + "sbom.vulnerabilities_report"
TOOLS = ANNOTATION_PREFIX + "tools"

_SNIFF = re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"')


@functools.lru_cache(maxsize=len(SPEC_VERSIONS))
def _schema_validator(spec_version: str) -> Any:
    """A jsonschema-rs validator of the official CycloneDX schema for ``spec_version``.

    The schema files are cyclonedx-python-lib's (the strict variants where they exist, as its
    ``JsonStrictValidator`` picks them); the schemas they reference (SPDX license ids, JSF,
    cryptography definitions) are served from the same directory, never fetched. jsonschema-rs
    (Rust) validates a 100k-component BOM in about 0.2 s where the pure-Python jsonschema that
    cyclonedx-python-lib drives takes minutes (its ``iri-reference`` format check alone is
    ~50 ms per URL); see benchmarks/bench_sbom.py.
    """
    import jsonschema_rs
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.schema._res import BOM_JSON_STRICT

    schema_file = Path(BOM_JSON_STRICT[SchemaVersion.from_version(spec_version)] or "")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))

    def local(uri: str) -> Any:
        # "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json" -> the file beside the schema
        return json.loads((schema_file.parent / uri.rsplit("/", 1)[-1]).read_text("utf-8"))

    return jsonschema_rs.validator_for(schema, retriever=local, validate_formats=True)


def _format_error(error: Any) -> str:
    """``components[3].type: "lib" is not one of ...`` for one jsonschema-rs error.

    A oneOf/anyOf failure carries each alternative's errors in ``kind.context``; as
    jsonschema's ``best_match`` does, the deepest of them names the real cause.
    """
    while alternatives := getattr(error.kind, "context", None):
        candidates = [sub for alternative in alternatives for sub in alternative]
        if not candidates:
            break
        error = max(candidates, key=lambda sub: len(sub.instance_path))
    where = ""
    for part in error.instance_path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return f"{where or 'document'}: {shorten(str(error.message), 160)}"


def _component_count(components: Any) -> int:
    """Components at every nesting level (``components[].components[]``)."""
    count = 0
    stack = [components]
    while stack:
        items = stack.pop()
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict):
                count += 1
                stack.append(item.get("components"))
    return count


def _tools(metadata: dict[str, Any]) -> list[dict[str, str | None]]:
    """Tools from ``metadata.tools``: the <1.5 array of tools or the >=1.5 object of
    ``components`` and ``services``."""
    tools = metadata.get("tools")
    entries: list[Any]
    if isinstance(tools, list):
        entries = tools
    elif isinstance(tools, dict):
        entries = [*(tools.get("components") or []), *(tools.get("services") or [])]
    else:
        entries = []
    out: list[dict[str, str | None]] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            version = entry.get("version")
            out.append({"name": entry["name"], "version": str(version) if version else None})
    return out


def _main_component(metadata: dict[str, Any]) -> dict[str, str | None] | None:
    comp = metadata.get("component")
    if not isinstance(comp, dict) or not isinstance(comp.get("name"), str):
        return None
    version = comp.get("version")
    return {
        "name": comp["name"],
        "type": comp.get("type") if isinstance(comp.get("type"), str) else None,
        "version": str(version) if version is not None else None,
    }


def _check_header(filename: str, doc: Any) -> str:
    """The document's spec version; MaterialError if it is not a CycloneDX document."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not a CycloneDX document: the top level is a JSON "
            f"{type(doc).__name__}, not an object"
        )
    if detect_document_kind(doc) == "SBOM_SPDX_JSON":
        raise MaterialError(
            f"{filename} is an SPDX document, not CycloneDX",
            hint="add it with --kind SBOM_SPDX_JSON, or give the CycloneDX SBOM",
        )
    fmt = doc.get("bomFormat")
    if fmt != "CycloneDX":
        found = "missing" if fmt is None else repr(fmt)
        raise MaterialError(
            f"{filename} is not a CycloneDX document: bomFormat is {found}, expected 'CycloneDX'"
        )
    spec = doc.get("specVersion")
    if not isinstance(spec, str) or spec not in SPEC_VERSIONS:
        found = "missing" if spec is None else repr(spec)
        raise MaterialError(
            f"{filename}: CycloneDX specVersion is {found}; supported versions are "
            + ", ".join(SPEC_VERSIONS)
        )
    return spec


def bom_material(
    kind: str,
    name: str,
    path: Path,
    digest: Digest,
    size: int,
    *,
    spec_version: str,
    component_count: int,
    tools: list[dict[str, str | None]],
    main: dict[str, str | None] | None,
    has_vulnerabilities: bool,
) -> CraftedMaterial:
    """The crafted CycloneDX BOM (JSON or XML): its summary and Chainloop's annotations."""
    annotations: dict[str, str] = {}
    if main:
        for key, field in ((MAIN_NAME, "name"), (MAIN_VERSION, "version"), (MAIN_TYPE, "type")):
            if main[field]:
                annotations[key] = str(main[field])
    if tools:
        annotations[TOOLS] = tools_annotation(tools)
    if has_vulnerabilities:
        annotations[VULNERABILITIES] = "true"
    return CraftedMaterial(
        name=name,
        kind=kind,
        digest=digest,
        size=size,
        filename=path.name,
        upload_path=path.absolute(),
        annotations=annotations,
        summary={
            "spec_version": spec_version,
            "component_count": component_count,
            "tools": tools,
            "main_component": main,
            "has_vulnerabilities": has_vulnerabilities,
        },
    )


class CycloneDXJsonHandler:
    """Validates against the CycloneDX JSON schema and summarises the BOM."""

    kind: ClassVar[str] = "SBOM_CYCLONEDX_JSON"

    def accepts(self, value: str) -> bool:
        """A JSON file whose ``bomFormat`` is ``CycloneDX`` (valid or not: craft says why)."""
        found = sniff_json_object(value, _SNIFF)
        if isinstance(found, dict):
            return found.get("bomFormat") == "CycloneDX"
        if found:
            return True
        # cyclonedx-python-lib writes keys in alphabetical order: bomFormat comes after the
        # components, at the end of a large file.
        head = read_head(value)
        tail = read_tail(value) if head and not head[1] else None
        return bool(
            tail
            and head
            and head[0].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
            and _SNIFF.search(tail)
        )

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, another format, an
        unsupported specVersion, or schema violations (the first few, with their paths)."""
        path = existing_file(self.kind, value)
        digest, size, text = read_document(self.kind, path)
        doc = parse_json("CycloneDX", path, text)
        spec = _check_header(path.name, doc)
        self._validate(path, spec, doc)

        metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        return bom_material(
            self.kind,
            name,
            path,
            digest,
            size,
            spec_version=spec,
            component_count=_component_count(doc.get("components")),
            tools=_tools(metadata),
            main=_main_component(metadata),
            has_vulnerabilities=bool(doc.get("vulnerabilities")),
        )

    @staticmethod
    def _validate(path: Path, spec: str, doc: dict[str, Any]) -> None:
        errors = list(
            itertools.islice(_schema_validator(spec).iter_errors(doc), _COUNT_ERRORS_UP_TO + 1)
        )
        if not errors:
            return
        shown = "; ".join(_format_error(e) for e in errors[:MAX_REPORTED_ERRORS])
        more = len(errors) - MAX_REPORTED_ERRORS
        if more > 0:
            shown += f" (and {more}{'+' if len(errors) > _COUNT_ERRORS_UP_TO else ''} more)"
        raise MaterialError(
            f"{path.name} is not a valid CycloneDX {spec} document: {shown}",
            hint=f"check it against https://cyclonedx.org/docs/{spec}/json/",
        )
