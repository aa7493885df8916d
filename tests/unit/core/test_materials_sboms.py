"""SBOMs made by the real tools, crafted as SBOM_CYCLONEDX_JSON / SBOM_CYCLONEDX_XML.

The files in tests/assets/materials/sboms were produced once by cyclonedx-py (PyPI
``cyclonedx-bom``) and cdxgen (npm ``@cyclonedx/cdxgen``); the README there says how.
tests/integration/core/test_venv_sbom.py runs cyclonedx-py on the test venv itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from chainproof.core.materials import DETECTION_ORDER, handler_for
from chainproof.core.materials.base import CraftedMaterial, MaterialHandler
from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler
from chainproof.core.materials.sbom_cyclonedx_xml import CycloneDXXmlHandler

ROOT = Path(__file__).parents[3]
SBOMS = ROOT / "tests" / "assets" / "materials" / "sboms"
JSON = CycloneDXJsonHandler()
XML = CycloneDXXmlHandler()

CYCLONEDX_PY_TOOLS = [
    {"name": "cyclonedx-py", "version": "7.5.0"},
    {"name": "cyclonedx-python-lib", "version": "11.12.0"},
]
TINY_PY_APP = {"name": "tiny-py-app", "type": "application", "version": "0.3.1"}


def detect(value: str) -> str:
    """The kind detection picks, with SBOM_CYCLONEDX_XML right after SBOM_CYCLONEDX_JSON (where
    Chainloop puts CycloneDX) until the registry lists it."""
    order = list(DETECTION_ORDER)
    if XML.kind not in order:
        order.insert(order.index(JSON.kind) + 1, XML.kind)
    for kind in order:
        handler: MaterialHandler = XML if kind == XML.kind else handler_for(kind)
        if handler.accepts(value):
            return kind
    raise AssertionError(f"nothing accepts {value}")


def craft(handler: MaterialHandler, path: Path) -> CraftedMaterial:
    material = handler.craft("sbom", str(path))
    assert material.kind == handler.kind
    assert str(material.digest) == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert material.size == path.stat().st_size
    assert material.filename == path.name
    assert material.upload_path == path.absolute()
    json.dumps(material.to_dict())  # the summary is JSON
    return material


# --- the committed real-tool SBOMs -----------------------------------------------------------

REAL_TOOL_SBOMS: list[tuple[str, MaterialHandler, dict[str, Any], dict[str, str]]] = [
    (
        "cyclonedx-py-1.6.json",
        JSON,
        {
            "spec_version": "1.6",
            "component_count": 7,
            "tools": CYCLONEDX_PY_TOOLS,
            "main_component": TINY_PY_APP,
            "has_vulnerabilities": False,
        },
        {
            "chainproof.material.sbom.main_component.name": "tiny-py-app",
            "chainproof.material.sbom.main_component.version": "0.3.1",
            "chainproof.material.sbom.main_component.type": "application",
            "chainproof.material.tools": '["cyclonedx-py@7.5.0", "cyclonedx-python-lib@11.12.0"]',
        },
    ),
    (
        "cyclonedx-py-1.5.xml",
        XML,
        {
            "spec_version": "1.5",
            "component_count": 7,
            "tools": CYCLONEDX_PY_TOOLS,
            "main_component": TINY_PY_APP,
            "has_vulnerabilities": False,
        },
        {
            "chainproof.material.sbom.main_component.name": "tiny-py-app",
            "chainproof.material.sbom.main_component.version": "0.3.1",
            "chainproof.material.sbom.main_component.type": "application",
            "chainproof.material.tools": '["cyclonedx-py@7.5.0", "cyclonedx-python-lib@11.12.0"]',
        },
    ),
    (
        "cyclonedx-py-1.4.xml",  # tools in the <1.5 <tools><tool> form
        XML,
        {
            "spec_version": "1.4",
            "component_count": 7,
            "tools": CYCLONEDX_PY_TOOLS,
            "main_component": TINY_PY_APP,
            "has_vulnerabilities": False,
        },
        {
            "chainproof.material.sbom.main_component.name": "tiny-py-app",
            "chainproof.material.sbom.main_component.version": "0.3.1",
            "chainproof.material.sbom.main_component.type": "application",
            "chainproof.material.tools": '["cyclonedx-py@7.5.0", "cyclonedx-python-lib@11.12.0"]',
        },
    ),
    (
        "cdxgen-1.7.json",
        JSON,
        {
            "spec_version": "1.7",
            "component_count": 1,
            "tools": [{"name": "cdxgen", "version": "12.8.4"}],
            "main_component": {"name": "tiny-node-app", "type": "application", "version": "1.0.0"},
            "has_vulnerabilities": False,
        },
        {
            "chainproof.material.sbom.main_component.name": "tiny-node-app",
            "chainproof.material.sbom.main_component.version": "1.0.0",
            "chainproof.material.sbom.main_component.type": "application",
            "chainproof.material.tools": '["cdxgen@12.8.4"]',
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "handler", "summary", "annotations"),
    REAL_TOOL_SBOMS,
    ids=[case[0] for case in REAL_TOOL_SBOMS],
)
def test_real_tool_sbom_is_crafted_with_its_summary(
    name: str, handler: MaterialHandler, summary: dict[str, Any], annotations: dict[str, str]
) -> None:
    material = craft(handler, SBOMS / name)
    assert material.summary == summary
    assert material.annotations == annotations


@pytest.mark.parametrize(
    ("name", "kind"),
    [(case[0], case[1].kind) for case in REAL_TOOL_SBOMS],
)
def test_detection_picks_the_right_kind(name: str, kind: str) -> None:
    assert detect(str(SBOMS / name)) == kind
    other = XML if kind == JSON.kind else JSON
    assert not other.accepts(str(SBOMS / name))


def test_the_json_and_xml_of_one_environment_summarise_alike() -> None:
    """cyclonedx-py wrote the three from one venv: only the spec version differs."""
    summaries = [
        craft(handler, SBOMS / name).summary
        for name, handler in (
            ("cyclonedx-py-1.6.json", JSON),
            ("cyclonedx-py-1.5.xml", XML),
            ("cyclonedx-py-1.4.xml", XML),
        )
    ]
    assert [s.pop("spec_version") for s in summaries] == ["1.6", "1.5", "1.4"]
    assert summaries[0] == summaries[1] == summaries[2]


def test_the_json_and_xml_list_the_same_components() -> None:
    doc = json.loads((SBOMS / "cyclonedx-py-1.6.json").read_text(encoding="utf-8"))
    in_json = sorted(f"{c['name']}=={c['version']}" for c in doc["components"])
    xml_text = (SBOMS / "cyclonedx-py-1.5.xml").read_text(encoding="utf-8")
    in_xml = sorted(re.findall(r'<component type="library" bom-ref="([^"]+)">', xml_text))
    assert in_json == in_xml
    assert len(in_json) == 7
