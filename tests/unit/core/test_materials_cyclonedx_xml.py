"""SBOM_CYCLONEDX_XML: the XSD check, the namespace rules, hostile XML and broken files.

Samples are in tests/assets/materials/sboms (README there): the cyclonedx-py ones were made by
the tool, the broken and hostile ones derived from them or written by hand.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from chainproof.core.materials.base import CraftedMaterial
from chainproof.core.materials.junit_xml import JUnitXmlHandler
from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler
from chainproof.core.materials.sbom_cyclonedx_xml import SPEC_VERSIONS, CycloneDXXmlHandler
from chainproof.errors import MaterialError

ASSETS = Path(__file__).parents[2] / "assets" / "materials"
SBOMS = ASSETS / "sboms"
XML = CycloneDXXmlHandler()


def craft(path: Path) -> CraftedMaterial:
    material = XML.craft("sbom", str(path))
    assert material.kind == "SBOM_CYCLONEDX_XML"
    assert str(material.digest) == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert material.size == path.stat().st_size
    assert material.filename == path.name
    assert material.upload_path == path.absolute()
    json.dumps(material.to_dict())
    return material


def error(path: Path | str) -> MaterialError:
    with pytest.raises(MaterialError) as info:
        XML.craft("sbom", str(path))
    return info.value


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- accepts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "cyclonedx-py-1.5.xml",
        "cyclonedx-py-1.4.xml",
        "cyclonedx-1.6-vulnerabilities.xml",  # starts with a comment
        "cyclonedx-prefixed-root.xml",
        # broken, but CycloneDX: craft says what is wrong
        "cyclonedx-1.5-invalid.xml",
        "cyclonedx-truncated.xml",
        "cyclonedx-unsupported-version.xml",
        "cyclonedx-xxe.xml",
        "cyclonedx-billion-laughs.xml",
        "cyclonedx-external-dtd.xml",
    ],
)
def test_accepts_cyclonedx_xml(name: str) -> None:
    assert XML.accepts(str(SBOMS / name))


@pytest.mark.parametrize(
    "path",
    [
        SBOMS / "cyclonedx-no-namespace.xml",
        SBOMS / "cyclonedx-wrong-namespace.xml",
        SBOMS / "cyclonedx-py-1.6.json",
        SBOMS / "cdxgen-1.7.json",
        ASSETS / "reports" / "junit-pytest.xml",
        ASSETS / "reports" / "cobertura-coveragepy.xml",
        ASSETS / "spdx-2.3.json",
        ASSETS / "not-json.csv",
        ASSETS / "empty.json",
        ASSETS,  # a directory
        SBOMS / "missing.xml",
    ],
    ids=lambda p: p.name,
)
def test_does_not_accept_other_files(path: Path) -> None:
    assert not XML.accepts(str(path))


@pytest.mark.parametrize(
    "text",
    [
        # the CycloneDX namespace bound to a prefix the root does not use
        '<bom xmlns:x="http://cyclonedx.org/schema/bom/1.5" version="1"/>',
        # a CycloneDX root in a comment, before the real root
        '<!-- <bom xmlns="http://cyclonedx.org/schema/bom/1.5"> --><testsuites/>',
        "<bomb xmlns='http://cyclonedx.org/schema/bom/1.5'/>",
        "bom xmlns='http://cyclonedx.org/schema/bom/1.5'",
    ],
)
def test_does_not_accept_near_misses(tmp_path: Path, text: str) -> None:
    assert not XML.accepts(str(write(tmp_path, "x.xml", text)))


def test_accepts_single_quotes_and_attributes_before_xmlns(tmp_path: Path) -> None:
    text = "<?xml version='1.0'?>\n<bom version='1' xmlns='http://cyclonedx.org/schema/bom/1.6'/>"
    assert XML.accepts(str(write(tmp_path, "x.xml", text)))


def test_accepts_is_not_fooled_by_other_kinds() -> None:
    for name in ("cyclonedx-py-1.5.xml", "cyclonedx-prefixed-root.xml"):
        assert not CycloneDXJsonHandler().accepts(str(SBOMS / name))
        assert not JUnitXmlHandler().accepts(str(SBOMS / name))


def test_accepts_never_raises_on_a_value_that_is_not_a_path() -> None:
    assert not XML.accepts("")
    assert not XML.accepts("\x00")
    assert not XML.accepts("pkg:oci/x@sha256:" + "0" * 64)


# --- valid documents -------------------------------------------------------------------------


def test_vulnerabilities_nested_components_and_service_tools() -> None:
    material = craft(SBOMS / "cyclonedx-1.6-vulnerabilities.xml")
    assert material.summary == {
        "spec_version": "1.6",
        # spring-boot with its two nested components, and logback-core; not the pedigree ancestor
        "component_count": 4,
        "tools": [
            {"name": "grype", "version": "0.87.0"},
            {"name": "osv.dev", "version": "v1"},
        ],
        "main_component": {"name": "payments-api", "type": "container", "version": "2.4.0"},
        "has_vulnerabilities": True,
    }
    assert material.annotations == {
        "chainproof.material.sbom.main_component.name": "payments-api",
        "chainproof.material.sbom.main_component.version": "2.4.0",
        "chainproof.material.sbom.main_component.type": "container",
        "chainproof.material.tools": '["grype@0.87.0", "osv.dev@v1"]',
        "chainproof.material.sbom.vulnerabilities_report": "true",
    }


def test_prefixed_root_without_main_component() -> None:
    material = craft(SBOMS / "cyclonedx-prefixed-root.xml")
    assert material.summary == {
        "spec_version": "1.3",
        "component_count": 1,
        "tools": [{"name": "cyclonedx-maven-plugin", "version": "2.7.4"}],
        "main_component": None,
        "has_vulnerabilities": False,
    }
    assert material.annotations == {"chainproof.material.tools": '["cyclonedx-maven-plugin@2.7.4"]'}


@pytest.mark.parametrize("spec", SPEC_VERSIONS)
def test_every_spec_version_has_a_schema(tmp_path: Path, spec: str) -> None:
    text = f'<bom xmlns="http://cyclonedx.org/schema/bom/{spec}" version="1"><components/></bom>'
    material = craft(write(tmp_path, "min.xml", text))
    assert material.summary == {
        "spec_version": spec,
        "component_count": 0,
        "tools": [],
        "main_component": None,
        "has_vulnerabilities": False,
    }
    assert material.annotations == {}


def test_spec_versions_are_those_of_cyclonedx_python_lib() -> None:
    from cyclonedx.schema import SchemaVersion

    assert set(SPEC_VERSIONS) == {v.to_version() for v in SchemaVersion}


def test_empty_vulnerabilities_element_is_no_vulnerability_report(tmp_path: Path) -> None:
    text = '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><vulnerabilities/></bom>'
    material = craft(write(tmp_path, "x.xml", text))
    assert material.summary["has_vulnerabilities"] is False


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.xml"
    path.write_bytes(b"\xef\xbb\xbf" + (SBOMS / "cyclonedx-py-1.5.xml").read_bytes())
    assert XML.accepts(str(path))
    assert craft(path).summary["component_count"] == 7


# --- schema violations -----------------------------------------------------------------------


def test_schema_violations_are_reported_with_their_lines() -> None:
    exc = error(SBOMS / "cyclonedx-1.5-invalid.xml")
    message = str(exc)
    assert message.startswith("cyclonedx-1.5-invalid.xml is not a valid CycloneDX 1.5 document: ")
    assert (
        "line 148: Element 'component', attribute 'type': [facet 'enumeration'] The value 'lib'"
        in (message)
    )
    assert "line 256: Element 'title': This element is not expected." in message
    assert "{http://cyclonedx.org" not in message  # the namespace is left out of messages
    assert exc.hint == "check it against https://cyclonedx.org/docs/1.5/xml/"


def test_many_violations_are_counted(tmp_path: Path) -> None:
    components = "".join(f'<component type="lib"><name>c{i}</name></component>' for i in range(8))
    text = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">'
        f"<components>{components}</components></bom>"
    )
    message = str(error(write(tmp_path, "many.xml", text)))
    assert message.count("The value 'lib'") == 3
    assert message.endswith("(and 5 more)")


def test_the_version_is_checked_against_its_own_schema(tmp_path: Path) -> None:
    """A 1.6-only element (``manufacturer`` in metadata) is an error in a 1.4 document."""
    text = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/{v}" version="1"><metadata>'
        "<manufacturer><name>ACME</name></manufacturer></metadata></bom>"
    )
    assert craft(write(tmp_path, "ok.xml", text.format(v="1.6")))
    message = str(error(write(tmp_path, "old.xml", text.format(v="1.4"))))
    assert "is not a valid CycloneDX 1.4 document: line 1: Element 'manufacturer'" in message


def test_a_bad_version_attribute_is_a_schema_error(tmp_path: Path) -> None:
    text = '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="0"/>'
    message = str(error(write(tmp_path, "x.xml", text)))
    assert "is not a valid CycloneDX 1.6 document: line 1: Element 'bom', attribute 'version'" in (
        message
    )


# --- namespace -------------------------------------------------------------------------------


def test_no_namespace() -> None:
    exc = error(SBOMS / "cyclonedx-no-namespace.xml")
    assert str(exc) == (
        "cyclonedx-no-namespace.xml is not a CycloneDX XML document: its root <bom> has no "
        "namespace, expected http://cyclonedx.org/schema/bom/<version>"
    )
    assert (
        exc.hint
        == 'CycloneDX XML starts with <bom xmlns="http://cyclonedx.org/schema/bom/1.6" ...>'
    )


def test_wrong_namespace() -> None:
    assert str(error(SBOMS / "cyclonedx-wrong-namespace.xml")) == (
        "cyclonedx-wrong-namespace.xml is not a CycloneDX XML document: its root <bom> has "
        "namespace http://example.com/schema/bom/1.5, expected "
        "http://cyclonedx.org/schema/bom/<version>"
    )


def test_unsupported_spec_version() -> None:
    assert str(error(SBOMS / "cyclonedx-unsupported-version.xml")) == (
        "cyclonedx-unsupported-version.xml: CycloneDX spec version '2.0' (namespace "
        "http://cyclonedx.org/schema/bom/2.0) is not supported; supported versions are "
        "1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7"
    )


# --- hostile XML -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["cyclonedx-xxe.xml", "cyclonedx-billion-laughs.xml", "cyclonedx-external-dtd.xml"]
)
def test_doctype_is_refused(name: str) -> None:
    exc = error(SBOMS / name)
    assert str(exc) == (
        f"{name} is not a CycloneDX XML document chainproof can trust: it has a DOCTYPE "
        "declaration (<!DOCTYPE bom ...>)"
    )
    assert exc.hint is not None and "entities and external references are refused" in exc.hint


def test_xxe_never_reads_the_entity_target(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t-value", encoding="utf-8")
    text = (SBOMS / "cyclonedx-xxe.xml").read_text(encoding="utf-8")
    path = write(tmp_path, "x.xml", text.replace("file:///etc/passwd", secret.as_uri()))
    exc = error(path)
    assert "s3cr3t" not in str(exc) and "s3cr3t" not in exc.diagnostics()


def test_internal_entity_without_doctype_reference_is_refused(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE bom [<!ENTITY v "1.0.0">]>\n'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"/>'
    )
    assert "it has a DOCTYPE declaration" in str(error(write(tmp_path, "x.xml", text)))


# --- not CycloneDX XML -----------------------------------------------------------------------


def test_truncated() -> None:
    exc = error(SBOMS / "cyclonedx-truncated.xml")
    assert str(exc) == (
        "cyclonedx-truncated.xml is not a valid CycloneDX XML document: not well-formed XML at "
        "line 98 column 50: no element found"
    )
    assert exc.hint == "the file may be truncated or not XML at all"


def test_mismatched_tags(tmp_path: Path) -> None:
    text = '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components></bom>'
    assert str(error(write(tmp_path, "x.xml", text))) == (
        "x.xml is not a valid CycloneDX XML document: not well-formed XML at line 1 column 76: "
        "mismatched tag"
    )


@pytest.mark.parametrize(
    ("path", "message", "hint"),
    [
        (
            SBOMS / "cyclonedx-py-1.6.json",
            "cyclonedx-py-1.6.json is a CycloneDX JSON document, not CycloneDX XML",
            "add it with --kind SBOM_CYCLONEDX_JSON",
        ),
        (
            ASSETS / "spdx-2.3.json",
            "spdx-2.3.json is an SPDX JSON document, not CycloneDX XML",
            "add it with --kind SBOM_SPDX_JSON",
        ),
        (
            ASSETS / "evidence.json",
            "evidence.json is not a CycloneDX XML document: it is JSON",
            "check that you are adding the right file",
        ),
        (
            ASSETS / "not-json.csv",
            "not-json.csv is not a CycloneDX XML document: it is not XML",
            "check that you are adding the right file",
        ),
        (
            ASSETS / "reports" / "junit-pytest.xml",
            "junit-pytest.xml is a JUnit XML report (root <testsuites>), not a CycloneDX SBOM",
            "add it with --kind JUNIT_XML, or give the CycloneDX XML SBOM",
        ),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_other_formats(path: Path, message: str, hint: str) -> None:
    exc = error(path)
    assert str(exc) == message
    assert exc.hint == hint


def test_unknown_root(tmp_path: Path) -> None:
    assert str(error(write(tmp_path, "x.xml", "<project><name>x</name></project>"))) == (
        "x.xml is not a CycloneDX XML document: the root element is <project>, expected <bom>"
    )


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.xml"
    path.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><metadata><component '
        b'type="library"><name>caf\xe9</name></component></metadata></bom>'
    )
    exc = error(path)
    assert str(exc) == (
        "latin1.xml is not a valid CycloneDX XML document: not UTF-8 text (byte 150)"
    )


def test_empty_missing_and_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    assert str(error(empty)) == f"SBOM_CYCLONEDX_XML: {empty} is empty"
    assert str(error(tmp_path / "nope.xml")) == (
        f"SBOM_CYCLONEDX_XML: file {tmp_path / 'nope.xml'} does not exist"
    )
    assert str(error(tmp_path)) == f"SBOM_CYCLONEDX_XML: {tmp_path} is a directory, not a file"
    assert str(error("")) == "SBOM_CYCLONEDX_XML needs a file path, got an empty value"
