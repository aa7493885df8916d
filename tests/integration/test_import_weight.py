"""What importing a module drags in, measured in a fresh interpreter (a subprocess, hence not
a unit test): the CLI and the evidence-kind registry start fast because heavy libraries are
imported inside the commands and handlers that use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CASES = {
    "cli": (
        "import chainproof.cli.main",
        {"httpx", "cryptography", "sqlalchemy", "fastapi", "cyclonedx", "yaml", "pydantic"}
        | {"chainproof.client.http", "chainproof.server"},
    ),
    # What `attestation add`/`push` load with every run: YAML is for parsing contracts only.
    "crafting state": ("import chainproof.core.crafting, chainproof.client.attestation", {"yaml"}),
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


_COMMAND_MODULES = {
    "chainproof.cli." + m
    for m in (
        "api_token artifact attestation audit auth cas cas_backend contract drift keys org "
        "overview policy project project_version run server server_migrate signing_key "
        "verify workflow workflow_lifecycle"
    ).split()
}


def _loaded_by_cli(args: list[str]) -> set[str]:
    """The modules (and their top-level packages) a run of the console entry point with
    ``args`` imports, in a fresh interpreter."""
    code = (
        "import sys\n"
        f"sys.argv = ['chainproof', *{args!r}]\n"
        "from chainproof.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "names = [n for n, m in sys.modules.items() if m is not None]\n"
        "print(','.join(sorted(set(names) | {n.split('.')[0] for n in names})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().splitlines()[-1].split(","))


def test_root_help_imports_no_command_and_no_heavy_library() -> None:
    heavy = {"rich", "pydantic", "httpx", "yaml", "cryptography", "chainproof.client"}
    assert _loaded_by_cli(["--help"]) & (heavy | _COMMAND_MODULES) == set()


def test_a_command_imports_only_its_own_module(tmp_path: Path) -> None:
    # No state in tmp_path: the command fails at once, before any request is sent.
    args = ["--url", "http://127.0.0.1:9", "--token", "cp_x", "attestation", "status"]
    loaded = _loaded_by_cli([*args, "--state-dir", str(tmp_path)])
    assert loaded & _COMMAND_MODULES == {"chainproof.cli.attestation"}
    assert loaded & {"cryptography", "sqlalchemy", "fastapi", "yaml", "rich.markdown"} == set()


def test_a_network_command_skips_httpx_own_cli() -> None:
    # Nothing listens on port 9: the command fails at once (no retries), httpx loaded.
    args = ["--url", "http://127.0.0.1:9", "--token", "cp_x", "--retry-timeout", "0"]
    loaded = _loaded_by_cli([*args, "auth", "status"])
    assert "httpx" in loaded
    assert loaded & {"httpx._main", "pygments", "click"} == set()


@pytest.mark.parametrize(("command", "expected"), [("auth", "__all__"), ("server", "None")])
def test_pydantic_plugins_skipped_by_client_commands_only(command: str, expected: str) -> None:
    code = (
        "import os, sys\n"
        f"sys.argv = ['chainproof', {command!r}, '--help']\n"
        "from chainproof.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('PYDANTIC_DISABLE_PLUGINS'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip().splitlines()[-1] == expected
