"""The dashboard's pure presentation helpers: the side-by-side diff rows, material summaries,
download headers and page links (server/web/present.py)."""

from __future__ import annotations

import difflib
from urllib.parse import unquote

import pytest

from chainproof.server.web.present import (
    DiffRow,
    attachment,
    content_type,
    material_summary,
    page_url,
    side_by_side,
)


def test_side_by_side_pairs_equal_changed_removed_and_added_lines() -> None:
    old = "kind: Contract\nname: a\nmaterials:\n  - sbom\n  - image\ntail\n"
    new = "kind: Contract\nname: b\nmaterials:\n  - sbom\ntail\nextra\n"
    rows = side_by_side(old, new)
    assert rows == [
        DiffRow("equal", 1, "kind: Contract", 1, "kind: Contract"),
        DiffRow("changed", 2, "name: a", 2, "name: b"),
        DiffRow("equal", 3, "materials:", 3, "materials:"),
        DiffRow("equal", 4, "  - sbom", 4, "  - sbom"),
        DiffRow("removed", 5, "  - image", None, None),
        DiffRow("equal", 6, "tail", 5, "tail"),
        DiffRow("added", None, None, 6, "extra"),
    ]


def test_a_changed_block_longer_on_one_side_leaves_the_other_side_empty() -> None:
    rows = side_by_side("a\nb\nc\n", "a\nX\nY\nZ\nc\n")
    assert [(r.change, r.old_number, r.new_number) for r in rows] == [
        ("equal", 1, 1),
        ("changed", 2, 2),
        ("added", None, 3),
        ("added", None, 4),
        ("equal", 3, 5),
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [("", "a\nb\n"), ("a\nb\n", ""), ("x\n" * 5, "y\n" * 3), ("a\nb\nc\nd\n", "d\nc\nb\na\n")],
)
def test_every_line_of_both_sides_appears_once_in_order(old: str, new: str) -> None:
    rows = side_by_side(old, new)
    assert [r.old_text for r in rows if r.old_text is not None] == old.splitlines()
    assert [r.new_text for r in rows if r.new_text is not None] == new.splitlines()
    assert [r.old_number for r in rows if r.old_number] == list(range(1, len(old.splitlines()) + 1))
    # The lines it marks changed or one-sided are exactly those difflib's ndiff marks.
    marked = sum(1 for r in rows for t in (r.old_text, r.new_text) if t is not None
                 and r.change != "equal")  # fmt: skip
    ndiff = [line for line in difflib.ndiff(old.splitlines(), new.splitlines())
             if line[:1] in "+-"]  # fmt: skip
    assert marked == len(ndiff)


def test_material_summaries_for_people() -> None:
    sbom = {"spec_version": "1.6", "component_count": 5, "tools": [], "main_component": None}
    assert material_summary("SBOM_CYCLONEDX_JSON", sbom) == "5 components (spec 1.6)"
    assert material_summary("SBOM_SPDX_JSON", {"component_count": 1}) == "1 component"
    sarif = {"result_count": 3, "results_by_level": {"error": 2, "warning": 1, "note": 0}}
    assert material_summary("SARIF", sarif) == "3 findings (2 error, 1 warning)"
    assert material_summary("JUNIT_XML", {"tests": 12, "failures": 0, "ok": True}) == (
        "tests: 12, failures: 0"
    )
    assert material_summary("STRING", None) == ""


def test_content_types_by_kind_then_file_name() -> None:
    assert content_type("SBOM_CYCLONEDX_JSON", "bom.json") == "application/json"
    assert content_type("SARIF", "scan.sarif") == "application/json"
    assert content_type("CSAF_VEX", None) == "application/json"
    assert content_type("JUNIT_XML", "report.xml") == "application/xml"
    assert content_type("ZAP_DAST_ZIP", "zap.zip") == "application/zip"
    assert content_type("ARTIFACT", "notes.txt") == "text/plain"
    assert content_type("ARTIFACT", "build") == "application/octet-stream"


def test_attachment_names_the_file_safely() -> None:
    name = 'ré"sumé\r\n.json'
    header = attachment(name)
    assert "\r" not in header and "\n" not in header
    fallback, exact = header.split("; ")[1:]
    assert fallback == 'filename="r__sum___.json"'  # ASCII, no quote or control left
    assert exact.startswith("filename*=UTF-8''")
    assert unquote(exact.removeprefix("filename*=UTF-8''")) == name


def test_page_url_keeps_only_given_filters() -> None:
    assert page_url("/runs", {"workflow": "web", "project": "", "cursor": None}) == (
        "/runs?workflow=web"
    )
    assert page_url("/runs", {"status": ""}) == "/runs"
    assert page_url("/audit", {"resource": "shop/api", "since": "7d"}) == (
        "/audit?resource=shop%2Fapi&since=7d"
    )
