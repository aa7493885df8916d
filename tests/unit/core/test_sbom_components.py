"""Components read out of CycloneDX (JSON, and XML through its JSON form) and SPDX SBOMs,
and version ranges in each ecosystem's ordering (docs/discover.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainproof.core.sbom_components import components, package_of
from chainproof.core.version_range import VersionRange
from chainproof.errors import InvalidInput
from chainproof.policy.content import evaluable_content

ASSETS = Path(__file__).parents[2] / "assets" / "materials"


def test_cyclonedx_json_nested_components_licenses_and_hashes() -> None:
    doc = {
        "components": [
            {
                "type": "library",
                "name": "log4j-core",
                "version": "2.14.1",
                "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
                "licenses": [{"license": {"id": "Apache-2.0"}}, {"expression": "MIT OR X11"}],
                "hashes": [{"alg": "SHA-256", "content": "AB12"}],
                "components": [{"type": "file", "name": "inner.class"}],
            },
            {
                "name": "log4j-core",
                "version": "2.14.1",
                "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
            },
            {"version": "no name"},
            "junk",
        ]
    }
    found = {c.name: c for c in components("SBOM_CYCLONEDX_JSON", doc)}
    assert sorted(found) == ["inner.class", "log4j-core"]  # the repeat kept once
    log4j = found["log4j-core"]
    assert log4j.package == "pkg:maven/org.apache.logging.log4j/log4j-core"
    assert log4j.licenses == ("Apache-2.0", "MIT OR X11")
    assert log4j.hashes == ("sha256:ab12",)
    assert found["inner.class"].key == "file:inner.class@"


def test_spdx_packages_with_purls_and_no_assertion_licenses() -> None:
    doc = json.loads((ASSETS / "spdx-2.3.json").read_text())
    doc["packages"][1]["licenseDeclared"] = "NOASSERTION"
    found = {c.name: c for c in components("SBOM_SPDX_JSON", doc)}
    express = found["express"]
    assert (express.purl, express.version, express.licenses) == (
        "pkg:npm/express@4.21.1",
        "4.21.1",
        ("MIT",),
    )
    assert found["payments-web"].package == "pkg:npm/%40acme/payments-web"


def test_cyclonedx_xml_through_its_json_form() -> None:
    data = (ASSETS / "sboms" / "cyclonedx-py-1.5.xml").read_bytes()
    doc = evaluable_content("SBOM_CYCLONEDX_XML", data, descriptor={})
    purls = {c.purl for c in components("SBOM_CYCLONEDX_XML", doc)}
    assert "pkg:pypi/idna@3.20" in purls and len(purls) == 7  # tools and the root are no components


def test_package_of_a_purl() -> None:
    assert package_of("pkg:pypi/requests@2.31.0") == ("pkg:pypi/requests", "2.31.0")
    assert package_of("pkg:maven/g/a") == ("pkg:maven/g/a", None)
    assert package_of("not a purl") == (None, None)


@pytest.mark.parametrize(
    ("text", "version", "ecosystem", "inside"),
    [
        (">=2.0,<2.17.1", "2.14.1", "maven", True),
        (">=2.0,<2.17.1", "2.17.1", "maven", False),
        (">=2.0,<2.17.1", "2.0-beta9", "maven", False),  # Maven: a beta precedes its release
        (">=2.0,<2.17.1", "2.10.0", "npm", True),  # semver: 10 > 9, not text order
        (">=1.0", "1.0rc1", "pypi", False),  # PEP 440 pre-release
        ("==1.2", "1.2.0", "pypi", True),
        ("!=3", "3.0", "maven", False),
        (">=1", "not-a-version!", "npm", False),
        ("<2", None, "npm", False),
    ],
)
def test_version_ranges_in_the_ecosystems_order(
    text: str, version: str | None, ecosystem: str, inside: bool
) -> None:
    assert VersionRange.parse(text).contains(version, ecosystem) is inside


def test_malformed_range_is_refused() -> None:
    with pytest.raises(InvalidInput):
        VersionRange.parse(">>2")
