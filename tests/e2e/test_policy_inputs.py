"""Runtime policy inputs from the installed CLI: refused when unknown, used at add and by the
control plane at push, recorded in the statement."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli, Server

ASSETS = Path(__file__).parent.parent / "assets"
SBOM = ASSETS / "materials" / "cyclonedx-1.6.json"  # starlette is BSD-3-Clause
CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: inputs-release}
spec:
  materials:
    - {type: SBOM_CYCLONEDX_JSON, name: sbom}
  policies:
    materials:
      - {ref: sbom-banned-licenses, with: {licenses: AGPL-3.0-only}, gate: true}
"""


def _workflow(cli: Cli, tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT, encoding="utf-8")
    cli("project", "create", "--name", "inp")
    cli("workflow", "contract", "create", "--name", "inputs-release", "-f", str(contract))
    cli("workflow", "create", "--name", "build", "--project", "inp", "--contract", "inputs-release")


def test_policy_inputs_through_the_installed_cli(cli: Cli, server: Server, tmp_path: Path) -> None:
    _workflow(cli, tmp_path)
    init = ("attestation", "init", "--workflow", "build", "--project", "inp")

    malformed = cli(*init, "--policy-input", "licenses", check=False)
    assert malformed.returncode == 2 and "has no '='" in malformed.stderr
    unknown = cli(*init, "--policy-input", "licence=MIT", check=False)
    assert unknown.returncode == 2, unknown.stderr
    assert "policy input 'licence': no policy of the contract declares it" in unknown.stderr
    assert "sbom-banned-licenses: licenses" in unknown.stderr  # the hint lists what exists

    cli(*init, "--replace", "--policy-input", "sbom-banned-licenses:licenses=BSD-3-Clause")
    added = cli("attestation", "add", "--name", "sbom", "--value", str(SBOM))
    assert "starlette@0.41.2 has banned license(s): BSD-3-Clause" in added.stderr
    # The control plane evaluates with the recorded value: its gate blocks the push.
    pushed = cli("attestation", "push", check=False)
    assert pushed.returncode == 1, pushed.stderr
    assert "blocked by policy: sbom-banned-licenses on sbom" in pushed.stderr
    runs = cli.json("workflow", "run", "list", "--workflow", "build", "--project", "inp")
    assert isinstance(runs, list)
    statement = json.loads(
        cli("workflow", "run", "describe", "--id", runs[0]["id"], "-o", "statement").stdout
    )
    assert statement["predicate"]["policyInputs"] == [
        {"name": "licenses", "value": "BSD-3-Clause", "policy": "sbom-banned-licenses"}
    ]
    (evaluation,) = statement["predicate"]["policyEvaluations"]["sbom"]
    assert evaluation["with"] == {"licenses": "BSD-3-Clause"}

    # At add, from a file, for that material only: the contract's value is replaced again.
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("sbom-banned-licenses: {licenses: [GPL-3.0-only, SSPL-1.0]}\n")
    cli(*init)
    added = cli.json(
        "attestation", "add", "--name", "sbom", "--value", str(SBOM),
        "--policy-input-from-file", str(inputs),
    )  # fmt: skip
    assert isinstance(added, dict)
    assert added["policies"][0]["with"] == {"licenses": "GPL-3.0-only\nSSPL-1.0"}
    assert added["policies"][0]["violations"] == []
    assert cli("attestation", "push").returncode == 0
