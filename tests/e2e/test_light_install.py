"""The light CLI (``pip install chainproof``, no extras) against a full server.

The CLI runs with a ``sitecustomize.py`` on PYTHONPATH whose import hook makes the libraries
of the optional extras unimportable, as in a CI job that installed chainproof alone. The
server keeps every extra: the control plane validates all kinds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.e2e.conftest import Cli

ASSETS = Path(__file__).parent.parent / "assets"
MATERIALS = ASSETS / "materials"
OPTIONAL = "spdx_tools,openapi_spec_validator,graphql,lxml,sigstore"

SITECUSTOMIZE = '''
import os
import sys

BLOCKED = tuple(filter(None, os.environ.get("CHAINPROOF_TEST_UNINSTALLED", "").split(",")))


class _Uninstalled:
    """Finds nothing but refuses the blocked top-level packages, as pip uninstall would."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Uninstalled())
'''


@pytest.fixture
def light(cli: Cli, tmp_path: Path) -> Cli:
    """The CLI with the optional extras' libraries made unimportable."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(shim), cli.env.get("PYTHONPATH")) if p)
    env = {**cli.env, "PYTHONPATH": path, "CHAINPROOF_TEST_UNINSTALLED": OPTIONAL}
    return Cli(env=env, cwd=cli.cwd)


def _init(cli: Cli, project: str) -> None:
    contract = ASSETS / "e2e" / "contract.yaml"
    cli(
        "attestation",
        "init",
        "--workflow",
        "build",
        "--project",
        project,
        "--contract",
        str(contract),
    )


@pytest.mark.parametrize(
    ("asset", "kind", "extra"),
    [
        ("spdx-2.3.json", "SBOM_SPDX_JSON", "spdx"),
        ("specs/petstore-openapi-3.0.yaml", "OPENAPI_SPEC", "specs"),
        ("specs/bookstore.graphql", "GRAPHQL_SPEC", "specs"),
        ("sboms/cyclonedx-py-1.5.xml", "SBOM_CYCLONEDX_XML", "cyclonedx-xml"),
    ],
)
def test_optional_kind_names_its_extra(light: Cli, asset: str, kind: str, extra: str) -> None:
    _init(light, f"light-{extra}")
    value = str(MATERIALS / asset)
    for how in (["--kind", kind], []):  # given, and detected from the file
        added = light("attestation", "add", "--value", value, *how, check=False)
        assert added.returncode == 2, added.stderr
        assert f"{kind} needs the {extra} extra: pip install 'chainproof[{extra}]'" in added.stderr
        assert "Traceback" not in added.stderr


def test_light_cli_adds_pushes_and_verifies_the_usual_evidence(light: Cli, tmp_path: Path) -> None:
    _init(light, "light-flow")
    light("attestation", "add", "--name", "sbom", "--value", str(MATERIALS / "cyclonedx-1.6.json"))
    light("attestation", "add", "--name", "version", "--value", "1.2.3")
    image = "registry.test/shop/app@sha256:" + "a" * 64
    light("attestation", "add", "--name", "image", "--value", image)
    bundle = tmp_path / "bundle.json"
    pushed = light("attestation", "push", "--bundle", str(bundle))
    assert "/api/v1/runs/" in pushed.stdout
    report = light.json("verify", str(bundle))  # the organisation's root, from CHAINPROOF_URL
    assert isinstance(report, dict) and report["verified"] is True


def test_public_good_without_sigstore_names_its_extra(light: Cli, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({}))
    args = ["--certificate-identity", "a@example.com", "--certificate-oidc-issuer", "https://x"]
    result = light("verify", str(bundle), "--public-good", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert "needs the public-good extra: pip install 'chainproof[public-good]'" in result.stderr
