"""cyclonedx-py run now on the test venv (a subprocess), its SBOMs crafted as
SBOM_CYCLONEDX_JSON / SBOM_CYCLONEDX_XML: a new cyclonedx-py release is checked too."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from tests.unit.core.test_materials_sboms import JSON, XML, craft, detect

from chainproof.core.materials.base import MaterialHandler

ROOT = Path(__file__).parents[3]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def venv_sboms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """cyclonedx-py's SBOM of the test venv in JSON and XML (CycloneDX 1.6), made once."""
    out = tmp_path_factory.mktemp("venv-sboms")
    made = {}
    for output_format in ("JSON", "XML"):
        path = out / f"venv.cdx.{output_format.lower()}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cyclonedx_py",
                "environment",
                "--pyproject",
                str(ROOT / "pyproject.toml"),
                "--sv",
                "1.6",
                "--of",
                output_format,
                # chainproof validates; cyclonedx-py's own check of ~130 components takes 25 s
                "--no-validate",
                "-o",
                str(path),
                sys.executable,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        made[output_format] = path
    return made


@pytest.mark.parametrize(("output_format", "handler"), [("JSON", JSON), ("XML", XML)])
def test_cyclonedx_py_sbom_of_the_test_venv(
    venv_sboms: dict[str, Path], output_format: str, handler: MaterialHandler
) -> None:
    path = venv_sboms[output_format]
    material = craft(handler, path)

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = {
        _normalise(dist.metadata["Name"]) for dist in importlib.metadata.distributions()
    } - {_normalise(project["name"])}  # chainproof itself is the main component
    assert material.summary == {
        "spec_version": "1.6",
        "component_count": len(installed),
        "tools": [
            {"name": "cyclonedx-py", "version": importlib.metadata.version("cyclonedx-bom")},
            {
                "name": "cyclonedx-python-lib",
                "version": importlib.metadata.version("cyclonedx-python-lib"),
            },
        ],
        "main_component": {
            "name": project["name"],
            "type": "application",
            "version": project["version"],
        },
        "has_vulnerabilities": False,
    }
    if output_format == "JSON":
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert {_normalise(c["name"]) for c in doc["components"]} == installed


def test_detection_of_cyclonedx_py_xml_of_the_test_venv(venv_sboms: dict[str, Path]) -> None:
    assert venv_sboms["XML"].stat().st_size > 64 * 1024  # more than accepts() reads
    assert detect(str(venv_sboms["XML"])) == XML.kind


def test_detection_of_cyclonedx_py_json_of_the_test_venv(venv_sboms: dict[str, Path]) -> None:
    assert venv_sboms["JSON"].stat().st_size > 64 * 1024
    assert detect(str(venv_sboms["JSON"])) == JSON.kind
