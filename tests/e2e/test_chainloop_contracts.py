"""Contracts written as Chainloop's documentation shows them (``schemaVersion: v1`` and the
``chainloop.dev/v1`` ``kind: Contract`` form; policies by bare name and ``chainloop://``
reference, with ``with:`` arguments and a ``selector``), each taken through a full
attestation, init, add and push, by the installed CLI against a server (issue 21). The
files and where they come from: tests/assets/e2e/chainloop-docs/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Cli
from tests.e2e.test_contracts_and_runners import GITHUB_ENV

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DOCS = ASSETS / "e2e" / "chainloop-docs"
MATERIALS = ASSETS / "materials"
SBOM = MATERIALS / "cyclonedx-1.6.json"  # starlette@0.41.2 is BSD-3-Clause
SPDX = MATERIALS / "spdx-2.3.json"
SARIF = MATERIALS / "reports" / "sarif-semgrep.sarif"
VEX = MATERIALS / "vex" / "openvex-acme-appliance.json"
TWISTCLI = MATERIALS / "scanners" / "twistcli-images-scan.json"
IMAGE = "registry.example.com/acme/skynet@sha256:" + "c" * 64
ENV = {**GITHUB_ENV, "CUSTOM_VAR": "from-the-job"}


def _attest(
    cli: Cli,
    contract: str,
    adds: list[list[str]],
    env: dict[str, str] | None = None,
    suffix: str = "",
) -> dict[str, Any]:
    """Store ``contract`` as Chainloop's docs write it, then init, add each, push; the
    pushed run's statement."""
    name = contract.removesuffix(".yaml").replace(".", "-") + suffix
    cli("workflow", "contract", "create", "--name", name, "-f", str(DOCS / contract))
    env = env or {}
    init = cli.json(
        "attestation", "init", "--workflow", name, "--project", "chainloop-docs",
        "--contract", name, **env,
    )  # fmt: skip
    assert isinstance(init, dict)
    for add in adds:
        cli("attestation", "add", *add, **env)
    pushed = cli.json("attestation", "push", **env)
    assert isinstance(pushed, dict)
    run = cli.json("workflow", "run", "describe", "--id", pushed["id"])
    assert isinstance(run, dict) and run["status"] == "succeeded", run
    assert run["contract_name"] == name
    statement = cli("workflow", "run", "describe", "--id", run["id"], "-o", "statement").stdout
    return dict(json.loads(statement))


def _evaluations(statement: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(policy name, material or the attestation) -> its evaluation."""
    found = {}
    for scope, items in statement["predicate"]["policyEvaluations"].items():
        for item in items:
            found[(item["name"], scope)] = item
    return found


def test_the_v1_runner_context_example(cli: Cli) -> None:
    statement = _attest(
        cli,
        "runner-context.v1.yaml",
        [["--name", "skynet-control-plane", "--value", IMAGE]],
        ENV,
    )
    runner = statement["predicate"]["runner"]
    assert runner["type"] == "GITHUB_ACTION"
    assert runner["env"]["CUSTOM_VAR"] == "from-the-job"


def test_the_v1_runner_context_refuses_another_runner(cli: Cli) -> None:
    cli("workflow", "contract", "create", "--name", "v1-gh", "-f",
        str(DOCS / "runner-context.v1.yaml"))  # fmt: skip
    refused = cli(
        "attestation", "init", "--workflow", "w", "--project", "chainloop-docs",
        "--contract", "v1-gh", check=False, CUSTOM_VAR="x",
    )  # fmt: skip
    assert refused.returncode != 0
    assert "GITHUB_ACTION" in refused.stderr


def test_the_v1_policies_example_with_a_selector(cli: Cli) -> None:
    statement = _attest(
        cli,
        "policies.v1.yaml",
        [
            ["--name", "sbom", "--value", str(SBOM)],
            ["--name", "another-sbom", "--value", str(SBOM)],
        ],
    )
    found = _evaluations(statement)
    licenses = found[("sbom-banned-licenses", "sbom")]
    assert licenses["with"] == {"licenses": "AGPL-3.0-only, SSPL-1.0"}
    assert licenses["violations"] == []
    # The selector names one material: the other SBOM is not evaluated.
    assert ("sbom-banned-licenses", "another-sbom") not in found
    commit = found[("source-commit", "CHAINPROOF.ATTESTATION")]
    assert commit["policyReference"]["name"] == "source-commit"
    assert commit["with"] == {"check_signature": "no"}


def test_the_skynet_example_in_the_crd_form(cli: Cli) -> None:
    statement = _attest(
        cli,
        "skynet.yaml",
        [
            ["--name", "skynet-control-plane", "--value", IMAGE, "-a", "asset=skynet"],
            ["--name", "skynet-sbom", "--value", str(SBOM)],
            ["--name", "disclosure", "--value", str(VEX)],
            ["--name", "static-out", "--value", str(SARIF)],
            ["--name", "scan-result", "--value", str(TWISTCLI)],
        ],
        ENV,
    )  # fmt: skip
    predicate = statement["predicate"]
    image = next(m for m in predicate["materials"] if m["annotations"].get(
        "chainproof.material.name") == "skynet-control-plane")  # fmt: skip
    assert image["annotations"]["component"] == "control-plane"
    assert image["annotations"]["asset"] == "skynet"
    assert any(s["digest"].get("sha256") == "c" * 64 for s in statement["subject"])  # output
    found = _evaluations(statement)
    assert found[("sbom-banned-licenses", "skynet-sbom")]["with"] == {
        "licenses": "AGPL-1.0-only, AGPL-3.0-only"
    }
    assert ("source-commit", "CHAINPROOF.ATTESTATION") in found


def test_the_sbom_quality_group_example(cli: Cli) -> None:
    statement = _attest(cli, "sbom-quality.yaml", [["--name", "sbom", "--value", str(SBOM)]])
    found = _evaluations(statement)
    names = {name for name, scope in found if scope == "sbom"}
    assert {"sbom-banned-licenses", "sbom-ntia", "sbom-freshness"} <= names
    group = found[("sbom-banned-licenses", "sbom")]["groupReference"]
    assert group["name"] == "sbom-quality"


def test_the_vulnerability_management_group_example(cli: Cli) -> None:
    statement = _attest(
        cli, "vulnerability-management.yaml", [["--name", "vuln-scan", "--value", str(SARIF)]]
    )
    found = _evaluations(statement)
    scan = found[("vulnerabilities", "vuln-scan")]
    assert scan["with"]["severity"] == "critical"
    assert scan["groupReference"]["name"] == "vulnerability-management"


@pytest.mark.parametrize("sbom", [["sbom-cyclonedx", SBOM], ["sbom-spdx", SPDX]])
def test_the_material_groups_example_takes_either_sbom(cli: Cli, sbom: list[Any]) -> None:
    statement = _attest(
        cli,
        "material-groups.yaml",
        [["--name", "container", "--value", IMAGE], ["--name", sbom[0], "--value", str(sbom[1])]],
        suffix="-" + sbom[0],
    )
    names = {
        m["annotations"]["chainproof.material.name"] for m in statement["predicate"]["materials"]
    }
    assert names == {"container", sbom[0]}
