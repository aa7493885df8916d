"""SBOM_CYCLONEDX_XML: a CycloneDX XML BOM, schema-validated for the spec version of its namespace.

The spec version comes from the root element's namespace, ``http://cyclonedx.org/schema/bom/1.x``
(CycloneDX XML has no ``specVersion`` field). The file is read once and parsed in two passes over
the same bytes:

1. defusedxml (expat) with ``forbid_dtd=True``: CycloneDX XML never needs a DOCTYPE, so any DTD,
   entity declaration or external reference (XXE, "billion laughs") is refused before anything
   else looks at the file. The summary is read from this tree.
2. cyclonedx-python-lib's ``XmlValidator`` (the official CycloneDX XSDs, through lxml: the
   ``cyclonedx-xml`` extra), whose own parser loads no DTD, resolves no entity and opens no
   network connection.

The summary and annotations have the same shape as SBOM_CYCLONEDX_JSON's. cyclonedx, lxml and
defusedxml are imported inside ``craft`` so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.core.materials._common import (
    detect_document_kind,
    existing_file,
    read_head,
    shorten,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.materials.junit_xml import ROOT_KINDS, label, local_name
from chainproof.core.materials.sbom_cyclonedx_json import bom_material
from chainproof.errors import MaterialError
from chainproof.extras import require

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from cyclonedx.validation.xml import XmlValidator

NAMESPACE_PREFIX = "http://cyclonedx.org/schema/bom/"
"""Every CycloneDX XML BOM's root namespace is this followed by its spec version."""

SPEC_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
"""CycloneDX versions with an XML schema (XSD) in cyclonedx-python-lib."""

MAX_REPORTED_ERRORS = 3
_COUNT_ERRORS_UP_TO = 100

_COMMENT = re.compile(rb"<!--.*?(?:-->|\Z)", re.DOTALL)
# The root's start tag: the first "<" followed by a name (skips <?xml ?>, <!DOCTYPE> and, once
# comments are removed, comments); quoted attribute values may hold ">".
_START_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)")
_XMLNS = re.compile(rb"""xmlns(?::([\w.-]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_HEAD_BYTES = 8192
_VALIDATE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=len(SPEC_VERSIONS))
def _validator(spec_version: str) -> XmlValidator:
    """cyclonedx-python-lib's XML validator for one spec version (cached: it loads its XSD and
    the SPDX license XSD it imports once, on first use)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    return XmlValidator(SchemaVersion.from_version(spec_version))


def _root_namespace(value: str) -> tuple[str, str | None] | None:
    """Local name and namespace URI of the root element of the XML file ``value``, read from
    its head only; None when it is not a readable file that starts like XML. Never raises."""
    got = read_head(value, _HEAD_BYTES)
    if got is None:
        return None
    head = got[0].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return None
    match = _START_TAG.search(_COMMENT.sub(b"", head))
    if match is None:
        return None
    prefix, _, name = match.group(1).decode("ascii", "replace").rpartition(":")
    for decl in _XMLNS.finditer(match.group(2)):
        declared = (decl.group(1) or b"").decode("ascii", "replace")
        if declared == prefix:
            uri = decl.group(2) if decl.group(2) is not None else decl.group(3)
            return name, uri.decode("utf-8", "replace")
    return name, None


def _not_xml(path: Path, data: bytes) -> MaterialError:
    """The error for a file that does not start like XML (a CycloneDX JSON BOM gets a hint)."""
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"{", b"["):
        try:
            other = detect_document_kind(jsonload.loads(data.decode("utf-8-sig")))
        except ValueError:  # also UnicodeDecodeError
            other = None
        if other is not None:
            what = "a CycloneDX JSON" if other == "SBOM_CYCLONEDX_JSON" else "an SPDX JSON"
            return MaterialError(
                f"{path.name} is {what} document, not CycloneDX XML",
                hint=f"add it with --kind {other}",
            )
        return MaterialError(
            f"{path.name} is not a CycloneDX XML document: it is JSON",
            hint="check that you are adding the right file",
        )
    return MaterialError(
        f"{path.name} is not a CycloneDX XML document: it is not XML",
        hint="check that you are adding the right file",
    )


def _parse(path: Path, data: bytes) -> Element:
    """The root of ``data`` parsed with defusedxml, DTDs refused; MaterialError when the file is
    not XML, not well-formed (e.g. truncated) or has a DOCTYPE."""
    import defusedxml.ElementTree as DefusedET
    from defusedxml import DefusedXmlException, DTDForbidden

    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise _not_xml(path, data)
    try:
        root: Element = DefusedET.fromstring(data, forbid_dtd=True)
        return root
    except DTDForbidden as exc:
        raise MaterialError(
            f"{path.name} is not a CycloneDX XML document chainproof can trust: it has a "
            f"DOCTYPE declaration (<!DOCTYPE {exc.name} ...>)",
            hint="CycloneDX XML needs no DOCTYPE; DTDs, entities and external references are "
            "refused",
        ) from exc
    except DefusedXmlException as exc:  # not reached while DTDs are forbidden; kept as a net
        raise MaterialError(
            f"{path.name} is not a CycloneDX XML document chainproof can trust: {exc}"
        ) from exc
    except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":", 1)[0]
        raise MaterialError(
            f"{path.name} is not a valid CycloneDX XML document: not well-formed XML at line "
            f"{line} column {column + 1}: {reason}",
            hint="the file may be truncated or not XML at all",
        ) from exc


def _spec_version(filename: str, root: Element) -> str:
    """The spec version named by the root's namespace; MaterialError for another XML format,
    a root outside the CycloneDX namespace or an unsupported version."""
    name = local_name(root.tag)
    if name != "bom":
        other = ROOT_KINDS.get(name)
        if other is not None:
            raise MaterialError(
                f"{filename} is a {label(other)} report (root <{name}>), not a CycloneDX SBOM",
                hint=f"add it with --kind {other}, or give the CycloneDX XML SBOM",
            )
        raise MaterialError(
            f"{filename} is not a CycloneDX XML document: the root element is <{name}>, "
            "expected <bom>"
        )
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if not namespace.startswith(NAMESPACE_PREFIX):
        found = f"namespace {namespace}" if namespace else "no namespace"
        raise MaterialError(
            f"{filename} is not a CycloneDX XML document: its root <bom> has {found}, "
            f"expected {NAMESPACE_PREFIX}<version>",
            hint=f'CycloneDX XML starts with <bom xmlns="{NAMESPACE_PREFIX}1.6" ...>',
        )
    spec = namespace.removeprefix(NAMESPACE_PREFIX)
    if spec not in SPEC_VERSIONS:
        raise MaterialError(
            f"{filename}: CycloneDX spec version {spec!r} (namespace {namespace}) is not "
            "supported; supported versions are " + ", ".join(SPEC_VERSIONS)
        )
    return spec


def _format_error(error: Any, namespace: str) -> str:
    """``line 44: Element 'component', attribute 'type': ...`` for one XSD error (an lxml
    ``_LogEntry`` in ``XmlValidationError.data``), without the CycloneDX namespace."""
    entry = getattr(error, "data", error)
    message = str(getattr(entry, "message", entry)).replace("{" + namespace + "}", "")
    line = getattr(entry, "line", 0)
    where = f"line {line}: " if line else ""
    return where + shorten(message, 160)


class _Reader:
    """Reads the summary out of a parsed BOM, whose elements all live in one namespace."""

    def __init__(self, namespace: str) -> None:
        self._ns = "{" + namespace + "}"

    def children(self, elem: Element | None, name: str) -> Iterator[Element]:
        return iter(()) if elem is None else iter(elem.findall(self._ns + name))

    def child(self, elem: Element | None, name: str) -> Element | None:
        return None if elem is None else elem.find(self._ns + name)

    def text(self, elem: Element | None, name: str) -> str | None:
        found = self.child(elem, name)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def component_count(self, root: Element) -> int:
        """Components at every nesting level (``components/component/components/...``), not
        those inside pedigree or evidence, as for the JSON form."""
        count = 0
        stack = [self.child(root, "components")]
        while stack:
            for comp in self.children(stack.pop(), "component"):
                count += 1
                stack.append(self.child(comp, "components"))
        return count

    def tools(self, metadata: Element | None) -> list[dict[str, str | None]]:
        """Tools from ``metadata/tools``: the <1.5 ``<tool>`` list or the >=1.5 ``<components>``
        and ``<services>``."""
        tools = self.child(metadata, "tools")
        entries = [
            *self.children(tools, "tool"),
            *self.children(self.child(tools, "components"), "component"),
            *self.children(self.child(tools, "services"), "service"),
        ]
        out: list[dict[str, str | None]] = []
        for entry in entries:
            name = self.text(entry, "name")
            if name:
                out.append({"name": name, "version": self.text(entry, "version")})
        return out

    def main_component(self, metadata: Element | None) -> dict[str, str | None] | None:
        comp = self.child(metadata, "component")
        name = self.text(comp, "name")
        if comp is None or not name:
            return None
        return {"name": name, "type": comp.get("type"), "version": self.text(comp, "version")}

    def has_vulnerabilities(self, root: Element) -> bool:
        found = self.children(self.child(root, "vulnerabilities"), "vulnerability")
        return next(found, None) is not None


class CycloneDXXmlHandler:
    """Validates against the CycloneDX XML schema and summarises the BOM."""

    kind: ClassVar[str] = "SBOM_CYCLONEDX_XML"

    def accepts(self, value: str) -> bool:
        """An XML file whose root element is ``<bom>`` in a ``http://cyclonedx.org/schema/bom/``
        namespace (valid or not: craft says why)."""
        found = _root_namespace(value)
        if found is None:
            return False
        name, namespace = found
        return name == "bom" and namespace is not None and namespace.startswith(NAMESPACE_PREFIX)

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-XML (JSON SBOMs get a hint),
        truncated XML, a DOCTYPE or entities, another XML format, a namespace that is not a
        supported CycloneDX version, or schema violations (the first few, with their lines)."""
        require("lxml", "cyclonedx-xml", needed_by=self.kind)
        path = existing_file(self.kind, value)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MaterialError(f"{self.kind}: cannot read {path}: {exc.strerror or exc}") from exc
        root = _parse(path, data)
        spec = _spec_version(path.name, root)
        self._validate(path, spec, data)

        reader = _Reader(NAMESPACE_PREFIX + spec)
        metadata = reader.child(root, "metadata")
        return bom_material(
            self.kind,
            name,
            path,
            Digest.of_bytes(data),
            len(data),
            spec_version=spec,
            component_count=reader.component_count(root),
            tools=reader.tools(metadata),
            main=reader.main_component(metadata),
            has_vulnerabilities=reader.has_vulnerabilities(root),
        )

    @staticmethod
    def _validate(path: Path, spec: str, data: bytes) -> None:
        try:
            # XmlValidator takes text and encodes it as UTF-8 for lxml.
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MaterialError(
                f"{path.name} is not a valid CycloneDX XML document: not UTF-8 text "
                f"(byte {exc.start})",
                hint="CycloneDX tools write UTF-8; re-encode the file as UTF-8",
            ) from exc
        validator = _validator(spec)
        # NOTE: lxml keeps the errors of the last validation on the shared XMLSchema object.
        try:
            with _VALIDATE_LOCK:
                found = validator.validate_str(text, all_errors=True)
                errors = list(itertools.islice(found or (), _COUNT_ERRORS_UP_TO + 1))
        except SyntaxError as exc:  # lxml.etree.XMLSyntaxError: libxml2 stricter than expat
            raise MaterialError(
                f"{path.name} is not a valid CycloneDX XML document: not well-formed XML: "
                f"{shorten(str(exc), 160)}"
            ) from exc
        if not errors:
            return
        namespace = NAMESPACE_PREFIX + spec
        shown = "; ".join(_format_error(e, namespace) for e in errors[:MAX_REPORTED_ERRORS])
        more = len(errors) - MAX_REPORTED_ERRORS
        if more > 0:
            shown += f" (and {more}{'+' if len(errors) > _COUNT_ERRORS_UP_TO else ''} more)"
        raise MaterialError(
            f"{path.name} is not a valid CycloneDX {spec} document: {shown}",
            hint=f"check it against https://cyclonedx.org/docs/{spec}/xml/",
        )
