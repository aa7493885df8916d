"""CSAF_VEX, CSAF_INFORMATIONAL_ADVISORY, CSAF_SECURITY_ADVISORY, CSAF_SECURITY_INCIDENT_RESPONSE:
OASIS CSAF 2.0 documents, one kind per profile.

Each document is validated against the official CSAF 2.0 JSON schema (vendored in
``schemas/csaf-schema-2.0.json`` with the FIRST CVSS v2.0/v3.0/v3.1 schemas it ``$ref``\\s; see
``schemas/README.md``). As Chainloop does, ``/document/category`` must name the kind's profile
(a security advisory given as CSAF_VEX is refused with the right kind in the hint). Then the
profile's own mandatory tests, CSAF 2.0 §6.1.27.1-11 (written by hand after the standard's text:
they are not expressible in the schema), are run, since they are what makes a document a VEX or
an advisory: e.g. each ``known_not_affected`` product of a VEX needs an impact statement.

The summary gives the category, CSAF version, tracking id/status/version, publisher, the number
of vulnerabilities and their CVE ids (the first :data:`MAX_CVES`), and for VEX the number of
product entries in each VEX product status. The generator engine
(``/document/tracking/generator/engine``) becomes the tool annotation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    CSAF_KINDS,
    CSAF_LABELS,
    check_schema,
    csaf_kind_of,
    get,
    is_openvex,
    join_problems,
    schema_validator,
    text_or_none,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

CSAF_VERSION = "2.0"
SCHEMA_FILE = "csaf-schema-2.0.json"
CVSS_SCHEMAS: tuple[tuple[str, str], ...] = (
    ("https://www.first.org/cvss/cvss-v2.0.json", "cvss-v2.0.json"),
    ("https://www.first.org/cvss/cvss-v3.0.json", "cvss-v3.0.json"),
    ("https://www.first.org/cvss/cvss-v3.1.json", "cvss-v3.1.json"),
)
"""The ``$ref`` targets of the CSAF 2.0 schema and their vendored copies."""

VEX_STATUSES = ("known_affected", "fixed", "known_not_affected", "under_investigation")
"""The product statuses of the VEX profile (CSAF 2.0 §4.5), as counted in the summary."""

MAX_CVES = 50

_SCHEMA_HINT = "check it against https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
_PROFILE_HINT = "CSAF 2.0 section 6.1.27 lists what each profile requires"

_DOCUMENT = re.compile(rb'"document"\s*:\s*\{')
_CSAF_VERSION = re.compile(rb'"csaf_version"\s*:')

# CSAF 2.0 §6.1.27: which profile tests apply to which category
_ADVISORY_LIKE = ("csaf_security_advisory", "csaf_vex")
_NOTICE_LIKE = ("csaf_informational_advisory", "csaf_security_incident_response")
_DOCUMENT_NOTE_CATEGORIES = ("description", "details", "general", "summary")


# --- profile tests (CSAF 2.0 §6.1.27) ------------------------------------------------------------


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _groups(doc: dict[str, Any]) -> dict[str, set[str]]:
    """product_group_id -> its product_ids (``/product_tree/product_groups``)."""
    groups: dict[str, set[str]] = {}
    for group in _items(get(doc, "product_tree", "product_groups")):
        groups.setdefault(str(group["group_id"]), set()).update(map(str, group["product_ids"]))
    return groups


def _covered(items: Iterable[Any], groups: dict[str, set[str]]) -> set[str]:
    """Product ids that ``items`` (flags, threats, remediations) name directly or by group."""
    covered: set[str] = set()
    for item in items:
        covered.update(map(str, _items(item.get("product_ids"))))
        for group_id in _items(item.get("group_ids")):
            covered |= groups.get(str(group_id), set())
    return covered


def _vex_product_problems(
    index: int, vuln: dict[str, Any], groups: dict[str, set[str]]
) -> list[str]:
    """§6.1.27.9 impact statements and §6.1.27.10 action statements of one vulnerability."""
    problems: list[str] = []
    base = f"/vulnerabilities/{index}"
    status = vuln.get("product_status") or {}
    impacts = _covered(_items(vuln.get("flags")), groups) | _covered(
        (t for t in _items(vuln.get("threats")) if t.get("category") == "impact"), groups
    )
    for at, product in enumerate(_items(status.get("known_not_affected"))):
        if product not in impacts:
            problems.append(
                f"{base}/product_status/known_not_affected/{at}: product {product!r} has no "
                f"impact statement (a flag, or a threat of category 'impact') (§6.1.27.9)"
            )
    actions = _covered(_items(vuln.get("remediations")), groups)
    for at, product in enumerate(_items(status.get("known_affected"))):
        if product not in actions:
            problems.append(
                f"{base}/product_status/known_affected/{at}: product {product!r} has no "
                f"action statement in {base}/remediations (§6.1.27.10)"
            )
    return problems


def profile_problems(doc: dict[str, Any], category: str) -> list[str]:
    """What the schema-valid ``doc`` lacks for its profile, as ``<pointer>: <problem>`` lines
    (CSAF 2.0 §6.1.27.1-11; tests of other profiles are skipped)."""
    problems: list[str] = []
    document = doc["document"]
    vulns = doc.get("vulnerabilities")
    if category in _NOTICE_LIKE:
        notes = _items(document.get("notes"))
        if not any(n.get("category") in _DOCUMENT_NOTE_CATEGORIES for n in notes):
            problems.append(
                "/document/notes: needs a note of category description, details, general or "
                "summary (§6.1.27.1)"
            )
        # a reference's category defaults to "external" (schema references_t)
        refs = _items(document.get("references"))
        if not any(r.get("category", "external") == "external" for r in refs):
            problems.append("/document/references: needs an 'external' reference (§6.1.27.2)")
    if category == "csaf_informational_advisory" and vulns is not None:
        problems.append("/vulnerabilities: must not exist in an informational advisory (§6.1.27.3)")
    if category in _ADVISORY_LIKE:
        if "product_tree" not in doc:
            problems.append("/product_tree: is missing (§6.1.27.4)")
        if vulns is None:
            problems.append("/vulnerabilities: is missing (§6.1.27.11)")
    groups = _groups(doc)
    for index, vuln in enumerate(_items(vulns) if category in _ADVISORY_LIKE else []):
        base = f"/vulnerabilities/{index}"
        if "notes" not in vuln:
            problems.append(f"{base}: has no notes (§6.1.27.5)")
        if category == "csaf_security_advisory" and "product_status" not in vuln:
            problems.append(f"{base}: has no product_status (§6.1.27.6)")
        if category != "csaf_vex":
            continue
        status = vuln.get("product_status") or {}
        if not any(s in status for s in VEX_STATUSES):
            problems.append(
                f"{base}/product_status: needs fixed, known_affected, known_not_affected or "
                f"under_investigation (§6.1.27.7)"
            )
        if "cve" not in vuln and "ids" not in vuln:
            problems.append(f"{base}: has neither cve nor ids (§6.1.27.8)")
        problems.extend(_vex_product_problems(index, vuln, groups))
    return problems


# --- summary -------------------------------------------------------------------------------------


def _cves(vulns: list[dict[str, Any]]) -> list[str]:
    """The distinct CVE ids of ``vulns``, in document order."""
    return list(dict.fromkeys(v["cve"] for v in vulns if isinstance(v.get("cve"), str)))


def _engine(doc: dict[str, Any]) -> dict[str, str | None] | None:
    engine = get(doc, "document", "tracking", "generator", "engine")
    name = text_or_none(get(engine, "name"))
    return {"name": name, "version": text_or_none(get(engine, "version"))} if name else None


def summarise(doc: dict[str, Any]) -> dict[str, Any]:
    """The summary of a valid CSAF 2.0 document."""
    document = doc["document"]
    tracking = document["tracking"]
    publisher = document["publisher"]
    vulns: list[dict[str, Any]] = doc.get("vulnerabilities") or []
    cves = _cves(vulns)
    summary: dict[str, Any] = {
        "category": document["category"],
        "csaf_version": document["csaf_version"],
        "title": shorten(document["title"], 200),
        "tracking": {
            "id": tracking["id"],
            "status": tracking["status"],
            "version": tracking["version"],
        },
        "publisher": {
            "name": publisher["name"],
            "category": publisher["category"],
            "namespace": publisher["namespace"],
        },
        "vulnerabilities": len(vulns),
        "cve_count": len(cves),
        "cves": cves[:MAX_CVES],
        "tool": _engine(doc),
    }
    if document["category"] == "csaf_vex":
        summary["product_status"] = {
            status: sum(len((v.get("product_status") or {}).get(status) or []) for v in vulns)
            for status in VEX_STATUSES
        }
    return summary


# --- handlers ------------------------------------------------------------------------------------


class CsafHandler:
    """Validates a CSAF 2.0 document of one profile (the subclasses) and summarises it."""

    kind: ClassVar[str]
    category: ClassVar[str]

    @property
    def label(self) -> str:
        """``CSAF VEX``, ``CSAF security advisory``, ... for messages."""
        return CSAF_LABELS[self.kind]

    def accepts(self, value: str) -> bool:
        """A JSON object with ``document`` holding ``csaf_version`` and this profile's
        ``category`` (valid or not: craft says why)."""
        category = re.compile(rb'"category"\s*:\s*"' + re.escape(self.category.encode()) + rb'"')
        found = sniff_json(value, b"{", (_DOCUMENT, _CSAF_VERSION, category))
        if isinstance(found, dict):
            return csaf_kind_of(found) == self.kind
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, another format, a CSAF
        version other than 2.0, another profile (naming its kind), schema violations or a
        failed profile test (each with its JSON pointer)."""
        path, digest, size, doc = load_json(self.kind, self.label, value)
        self._check_header(path.name, doc)
        check_schema(
            schema_validator(SCHEMA_FILE, CVSS_SCHEMAS),
            doc,
            filename=path.name,
            label=self.label,
            hint=_SCHEMA_HINT,
        )
        problems = profile_problems(doc, self.category)
        if problems:
            raise MaterialError(
                f"{path.name} is not a valid {self.label} document: {join_problems(problems)}",
                hint=_PROFILE_HINT,
            )
        summary = summarise(doc)
        tool = summary["tool"]
        return crafted(
            self.kind, name, path, digest, size, summary, tools_annotations([tool] if tool else [])
        )

    def _check_header(self, filename: str, doc: Any) -> None:
        """MaterialError unless ``doc`` is a CSAF 2.0 document claiming this profile."""
        if not isinstance(doc, dict):
            raise MaterialError(
                f"{filename} is not a {self.label} document: the top level is {type_name(doc)}, "
                "not an object"
            )
        other = detect_document_kind(doc) or ("OPENVEX" if is_openvex(doc) else None)
        if other is not None:
            raise MaterialError(
                f"{filename} is {'an OpenVEX' if other == 'OPENVEX' else 'a ' + kind_label(other)}"
                f" document, not a {self.label} document",
                hint=f"add it with --kind {other}",
            )
        document = doc.get("document")
        if not isinstance(document, dict):
            raise MaterialError(
                f"{filename} is not a CSAF document: /document is "
                f"{'missing' if document is None else type_name(document)} (a CSAF document is "
                '{"document": {"category": ..., "csaf_version": "2.0", ...}, ...})'
            )
        version = document.get("csaf_version")
        if version != CSAF_VERSION:
            found = "missing" if version is None else repr(version)
            raise MaterialError(
                f"{filename} is not a valid {self.label} document: /document/csaf_version: "
                f"{CSAF_VERSION!r} expected, found {found}",
                hint="only CSAF 2.0 documents are supported",
            )
        category = document.get("category")
        if category == self.category or not isinstance(category, str):
            return  # a non-string category is reported by the schema
        right = CSAF_KINDS.get(category)
        found = f"found {shorten(category, 80)!r}"
        if right is not None:
            raise MaterialError(
                f"{filename} is not a valid {self.label} document: /document/category: "
                f"{self.category!r} expected, {found} (a {CSAF_LABELS[right]})",
                hint=f"add it with --kind {right}",
            )
        raise MaterialError(
            f"{filename} is not a valid {self.label} document: /document/category: "
            f"{self.category!r} expected, {found}",
            hint="chainproof has kinds for the CSAF profiles csaf_vex, csaf_security_advisory, "
            "csaf_informational_advisory and csaf_security_incident_response; add other CSAF "
            "documents as EVIDENCE",
        )


class CsafVexHandler(CsafHandler):
    """CSAF_VEX: a CSAF 2.0 document of the VEX profile (§4.5)."""

    kind: ClassVar[str] = "CSAF_VEX"
    category: ClassVar[str] = "csaf_vex"


class CsafInformationalAdvisoryHandler(CsafHandler):
    """CSAF_INFORMATIONAL_ADVISORY: the informational advisory profile (§4.3)."""

    kind: ClassVar[str] = "CSAF_INFORMATIONAL_ADVISORY"
    category: ClassVar[str] = "csaf_informational_advisory"


class CsafSecurityAdvisoryHandler(CsafHandler):
    """CSAF_SECURITY_ADVISORY: the security advisory profile (§4.4)."""

    kind: ClassVar[str] = "CSAF_SECURITY_ADVISORY"
    category: ClassVar[str] = "csaf_security_advisory"


class CsafSecurityIncidentResponseHandler(CsafHandler):
    """CSAF_SECURITY_INCIDENT_RESPONSE: the security incident response profile (§4.2)."""

    kind: ClassVar[str] = "CSAF_SECURITY_INCIDENT_RESPONSE"
    category: ClassVar[str] = "csaf_security_incident_response"
