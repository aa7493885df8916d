"""What importing a module drags in, measured in a fresh interpreter (a subprocess, hence not
a unit test): the CLI and the evidence-kind registry start fast because heavy libraries are
imported inside the commands and handlers that use them."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = {
    "cli": (
        "import chainproof.cli.main",
        {"httpx", "cryptography", "sqlalchemy", "fastapi", "cyclonedx", "yaml", "pydantic"}
        | {"chainproof.client.http", "chainproof.server"},
    ),
    "materials registry": (
        "import chainproof.core.materials as m\n"
        "m.handler_for('SBOM_CYCLONEDX_JSON'); m.handler_for('SBOM_SPDX_JSON')",
        {"cyclonedx", "spdx_tools", "jsonschema"},
    ),
    "report handlers": (
        "from chainproof.core.materials import sarif, junit_xml, jacoco_xml, cobertura_xml",
        {"jsonschema", "defusedxml"},
    ),
    "spec handlers": (
        "from chainproof.core.materials import openapi_spec, asyncapi_spec, graphql_spec\n"
        "from chainproof.core.materials import helm_chart",
        {"jsonschema", "openapi_spec_validator", "graphql", "yaml", "jsonschema_path"},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_import_does_not_load_heavy_modules(case: str) -> None:
    statement, heavy = CASES[case]
    code = (
        f"import sys\n{statement}\n"
        f"loaded = set(sys.modules) | {{n.split('.')[0] for n in sys.modules}}\n"
        f"print(','.join(sorted(loaded & set({sorted(heavy)!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
