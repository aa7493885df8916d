"""JUNIT_XML: a JUnit XML test report (``<testsuites>`` or a single ``<testsuite>``).

JUnit XML has no official schema or specification: each tool (Ant, Maven Surefire, pytest,
Jest, go-junit-report, ...) writes its own dialect of the Ant format, and the Python libraries
that read it (junitparser, junit-xml) parse with plain ``xml.etree``/lxml, which chainproof
never uses on untrusted input. So this parser is written by hand on defusedxml, and checks
what every dialect shares: the root element, at least one ``<testsuite>``, ``<testcase>``
elements with a ``name``, and numeric counters. Counts come from the test cases themselves
(a ``<failure>``, ``<error>`` or ``<skipped>`` child), not from the suites' attributes, which
tools often leave out or get wrong.

The small XML helpers here (:func:`read_xml`, :func:`xml_root_name`) are shared by the other
XML report kinds (JACOCO_XML, COBERTURA_XML).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core.digest import Digest
from chainproof.core.materials._common import existing_file, kind_label, read_head
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

ROOT_KINDS = {
    "testsuites": "JUNIT_XML",
    "testsuite": "JUNIT_XML",
    "report": "JACOCO_XML",
    "coverage": "COBERTURA_XML",
    "bom": "SBOM_CYCLONEDX_XML",
}
"""Root element -> the XML report kind it most likely is (for wrong-kind messages)."""

_LABELS = {
    "JUNIT_XML": "JUnit XML",
    "JACOCO_XML": "JaCoCo XML",
    "COBERTURA_XML": "Cobertura XML",
    "SBOM_CYCLONEDX_XML": "CycloneDX XML",
}

_COMMENT = re.compile(rb"<!--.*?(?:-->|\Z)", re.DOTALL)
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def label(kind: str) -> str:
    """Human name of an XML report kind."""
    return _LABELS.get(kind, kind_label(kind))


def local_name(tag: str) -> str:
    """``testsuite`` for ``{urn:x}testsuite`` and ``testsuite``."""
    return tag.rpartition("}")[2]


def xml_root_name(value: str) -> str | None:
    """Local name of the root element of the XML file ``value``, from its head only.

    Skips the XML declaration, comments, processing instructions and the DOCTYPE. None when
    ``value`` is not a readable file that starts like XML. Never raises (used by ``accepts``).
    """
    got = read_head(value, 8192)
    if got is None:
        return None
    head = got[0].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return None
    match = _FIRST_ELEMENT.search(_COMMENT.sub(b"", head))
    if match is None:
        return None
    return local_name(match.group(1).decode("ascii", "replace")).rpartition(":")[2]


def read_xml(kind: str, path: Path) -> tuple[Digest, int, bytes, Element]:
    """Digest, size, bytes and parsed root of an XML report, read once and parsed with
    defusedxml (entity declarations and external references are refused).

    MaterialError naming the kind when the file is not XML (JSON gets its own message),
    not well-formed (truncated), or uses DTD entities.
    """
    import defusedxml.ElementTree as DefusedET
    from defusedxml import DefusedXmlException

    what = label(kind)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {path}: {exc.strerror or exc}") from exc
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start != b"<":
        found = "JSON" if start in (b"{", b"[") else "not XML"
        raise MaterialError(
            f"{path.name} is not a {what} report: it is {found} (a {what} report is an XML file)",
            hint="check that you are adding the right file",
        )
    try:
        root = DefusedET.fromstring(data)
    except DefusedXmlException as exc:
        raise MaterialError(
            f"{path.name} is not a {what} report it can trust: {exc}",
            hint="XML entity declarations and external references are refused",
        ) from exc
    except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":", 1)[0]
        raise MaterialError(
            f"{path.name} is not a valid {what} report: not well-formed XML at line {line} "
            f"column {column + 1}: {reason}",
            hint="the file may be truncated or not XML at all",
        ) from exc
    return Digest.of_bytes(data), len(data), data, root


def wrong_root(kind: str, filename: str, root: Element, expected: str) -> MaterialError:
    """The error for an XML file whose root element is not ``expected``."""
    name = local_name(root.tag)
    other = ROOT_KINDS.get(name)
    if other is not None and other != kind:
        return MaterialError(
            f"{filename} is a {label(other)} report (root <{name}>), not {label(kind)}",
            hint=f"add it with --kind {other}, or give the {label(kind)} file",
        )
    return MaterialError(
        f"{filename} is not a {label(kind)} report: the root element is <{name}>, "
        f"expected {expected}"
    )


def int_attr(kind: str, filename: str, elem: Element, attr: str) -> int | None:
    """A non-negative integer attribute, None when absent; MaterialError when malformed."""
    raw = elem.get(attr)
    if raw is None:
        return None
    try:
        number = int(raw.strip())
    except ValueError:
        number = -1
    if number < 0:
        raise MaterialError(
            f"{filename} is not a valid {label(kind)} report: <{local_name(elem.tag)}"
            f"{_named(elem)}> has {attr}={raw!r}, expected a non-negative integer"
        )
    return number


def _seconds(kind: str, filename: str, elem: Element) -> float | None:
    """The ``time`` attribute in seconds (``1,234.5`` tolerated), None when absent."""
    raw = elem.get("time")
    if raw is None or not raw.strip():
        return None
    try:
        seconds = float(raw.strip().replace(",", ""))
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise MaterialError(
            f"{filename} is not a valid {label(kind)} report: <{local_name(elem.tag)}"
            f"{_named(elem)}> has time={raw!r}, expected seconds"
        )
    return seconds


def _named(elem: Element) -> str:
    name = elem.get("name")
    return f' name="{name}"' if name else ""


class JUnitXmlHandler:
    """Checks a JUnit XML report's structure and counts its tests by outcome."""

    kind: ClassVar[str] = "JUNIT_XML"

    def accepts(self, value: str) -> bool:
        """An XML file whose root element is ``<testsuites>`` or ``<testsuite>``."""
        return xml_root_name(value) in ("testsuites", "testsuite")

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-XML or truncated XML, another
        report format, a report without test suites, or malformed counters and test cases."""
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
        root_name = local_name(root.tag)
        if root_name not in ("testsuites", "testsuite"):
            raise wrong_root(self.kind, filename, root, "<testsuites> or <testsuite>")
        suites = [e for e in root.iter() if local_name(e.tag) == "testsuite"]
        if not suites:
            raise MaterialError(
                f"{filename} is not a valid JUnit XML report: <testsuites> holds no <testsuite>",
                hint="the test run may have found no tests",
            )
        for suite in suites:
            for attr in ("tests", "failures", "errors", "skipped", "disabled"):
                int_attr(self.kind, filename, suite, attr)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        case_time = 0.0
        for case in (e for e in root.iter() if local_name(e.tag) == "testcase"):
            if not case.get("name"):
                raise MaterialError(
                    f"{filename} is not a valid JUnit XML report: a <testcase> has no name"
                )
            case_time += _seconds(self.kind, filename, case) or 0.0
            counts["tests"] += 1
            outcomes = {local_name(child.tag) for child in case}
            if "failure" in outcomes:
                counts["failures"] += 1
            elif "error" in outcomes:
                counts["errors"] += 1
            elif "skipped" in outcomes:
                counts["skipped"] += 1
        time = self._total_time(filename, root, suites, case_time)
        return {
            **counts,
            "passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"],
            "time": round(time, 3),
            "suite_count": len(suites),
        }

    def _total_time(
        self, filename: str, root: Element, suites: list[Element], case_time: float
    ) -> float:
        """The root's ``time``, else the top-level suites' total, else the test cases' total."""
        for suite in suites:
            _seconds(self.kind, filename, suite)
        own = _seconds(self.kind, filename, root)
        if own is not None:
            return own
        top = [s for s in root if local_name(s.tag) == "testsuite"]
        times = [_seconds(self.kind, filename, s) for s in top]
        if top and all(t is not None for t in times):
            return sum(t for t in times if t is not None)
        return case_time
