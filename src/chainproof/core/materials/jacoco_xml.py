"""JACOCO_XML: a JaCoCo XML coverage report (root ``<report>``), with coverage per counter.

JaCoCo publishes only a DTD (``report.dtd``), no XML Schema, and no Python library reads its
reports; validating with the DTD would need lxml, which chainproof does not run on untrusted
input. So the check is written by hand on defusedxml, following the DTD: the root is
``<report name=...>``; its own ``<counter type missed covered>`` children are the report's
totals and must include INSTRUCTION (as Chainloop requires); counter types and numbers must be
the DTD's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core.materials._common import existing_file, read_head
from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.materials.junit_xml import (
    int_attr,
    local_name,
    read_xml,
    wrong_root,
    xml_root_name,
)
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

COUNTER_TYPES = ("INSTRUCTION", "BRANCH", "LINE", "COMPLEXITY", "METHOD", "CLASS")
"""The counter types of JaCoCo's report.dtd, in its order."""

_HINTS = (b"JACOCO", b"<sessioninfo", b"<counter", b"<package", b"<group")


class JacocoXmlHandler:
    """Checks a JaCoCo XML report's totals and summarises coverage per counter type."""

    kind: ClassVar[str] = "JACOCO_XML"

    def accepts(self, value: str) -> bool:
        """An XML file with root ``<report>`` and JaCoCo's DOCTYPE or elements in its head."""
        if xml_root_name(value) != "report":
            return False
        got = read_head(value, 8192)
        return got is not None and any(hint in got[0] for hint in _HINTS)

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-XML or truncated XML, another
        report format, or a report without valid totals (an INSTRUCTION counter at least)."""
        path = existing_file(self.kind, value)
        digest, size, _, root = read_xml(self.kind, path)
        summary = self._summarise(path.name, root)
        return CraftedMaterial(
            name=name,
            kind=self.kind,
            digest=digest,
            size=size,
            filename=path.name,
            upload_path=path.absolute(),
            summary=summary,
        )

    def _summarise(self, filename: str, root: Element) -> dict[str, Any]:
        if local_name(root.tag) != "report":
            raise wrong_root(self.kind, filename, root, "<report>")
        if not root.get("name"):
            raise MaterialError(
                f"{filename} is not a valid JaCoCo XML report: <report> has no name attribute"
            )
        counters: dict[str, dict[str, Any]] = {}
        for elem in root:
            if local_name(elem.tag) != "counter":
                continue
            kind = elem.get("type")
            if kind not in COUNTER_TYPES:
                raise MaterialError(
                    f"{filename} is not a valid JaCoCo XML report: counter type {kind!r} is "
                    f"not one of {', '.join(COUNTER_TYPES)}"
                )
            missed = int_attr(self.kind, filename, elem, "missed")
            covered = int_attr(self.kind, filename, elem, "covered")
            if missed is None or covered is None:
                raise MaterialError(
                    f"{filename} is not a valid JaCoCo XML report: the {kind} counter needs "
                    "'missed' and 'covered'"
                )
            total = missed + covered
            counters[kind] = {
                "missed": missed,
                "covered": covered,
                "coverage": round(100.0 * covered / total, 2) if total else None,
            }
        if "INSTRUCTION" not in counters:
            found = ", ".join(counters) or "none"
            raise MaterialError(
                f"{filename} is not a valid JaCoCo XML report: the report has no INSTRUCTION "
                f"counter (report-level counters found: {found})",
                hint="the file may be truncated, or be a per-module report without totals",
            )
        ordered = {k: counters[k] for k in COUNTER_TYPES if k in counters}
        return {
            "report_name": root.get("name"),
            "coverage": {k: v["coverage"] for k, v in ordered.items()},
            "counters": ordered,
            "package_count": sum(1 for e in root.iter() if local_name(e.tag) == "package"),
            "session_count": sum(1 for e in root if local_name(e.tag) == "sessioninfo"),
        }
