"""Policies from the installed CLI against a server process: results at add, in the statement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import Cli, Server, cli_for, start_server
from tests.e2e.test_attestation_flow import _setup_workflow

ASSETS = Path(__file__).parent.parent / "assets"
CONTRACT = ASSETS / "e2e" / "contract-policies.yaml"
SBOM = ASSETS / "materials" / "cyclonedx-1.6.json"
IMAGE = "registry.example.com/acme/build@sha256:" + "b" * 64


def test_policies_at_add_and_in_the_pushed_statement(cli: Cli, server: Server) -> None:
    cli("project", "create", "--name", "pol")
    cli("workflow", "contract", "create", "--name", "pol-release", "-f", str(CONTRACT))
    cli("workflow", "create", "--name", "build", "--project", "pol", "--contract", "pol-release")
    created = cli.json(
        "api-token", "create", "--name", "pol-ci", "--project", "pol", "--workflow", "build"
    )
    assert isinstance(created, dict)
    robot = str(created["token"])

    cli("attestation", "init", "--workflow", "build", "--project", "pol", token=robot)
    added = cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
    assert "policy sbom-banned-licenses: 2 violation(s)" in added.stderr
    assert "component starlette@0.41.2 has banned license(s): BSD-3-Clause" in added.stderr
    assert "policy sbom-ntia: 1 violation(s)" in added.stderr  # from the group
    assert "policy sbom-freshness: passed" in added.stderr
    image = cli.json("attestation", "add", "--name", "image", "--value", IMAGE, token=robot)
    assert isinstance(image, dict)
    assert [p["name"] for p in image["policies"]] == ["container-allowed-registries"]
    assert image["policies"][0]["violations"] == []

    # The control plane evaluates again and enforces the gate: the push is refused, the run
    # recorded as blocked with its evidence, and the job fails naming the violation.
    pushed = cli("attestation", "push", token=robot, check=False)
    assert pushed.returncode == 1, pushed.stderr
    assert "blocked by policy: sbom-banned-licenses on sbom" in pushed.stderr
    assert "starlette@0.41.2" in pushed.stderr
    runs = cli.json("workflow", "run", "list", "--workflow", "build", "--project", "pol")
    assert isinstance(runs, list) and runs[0]["status"] == "blocked"
    described = cli.json("workflow", "run", "describe", "--id", runs[0]["id"])
    assert isinstance(described, dict)
    assert described["verification"]["policy"]["gated_violations"] == 1
    statement = json.loads(
        cli("workflow", "run", "describe", "--id", runs[0]["id"], "-o", "statement").stdout
    )
    evaluations = statement["predicate"]["policyEvaluations"]
    assert set(evaluations) == {"sbom", "image", "CHAINPROOF.ATTESTATION"}
    sbom = evaluations["sbom"]
    assert [e["name"] for e in sbom] == [
        "sbom-banned-licenses",  # the contract's, gated
        "sbom-ntia",  # the group's four
        "sbom-freshness",
        "sbom-banned-licenses",
        "sbom-banned-components",
    ]
    assert sbom[0]["gate"] is True and "groupReference" not in sbom[0]
    assert all(e["groupReference"]["name"] == "sbom-quality" for e in sbom[1:])
    assert sbom[3]["with"] == {"licenses": "AGPL-3.0-only"} and sbom[3]["violations"] == []
    [runner] = evaluations["CHAINPROOF.ATTESTATION"]  # sbom-present skipped by the contract
    assert runner["name"] == "runner-ci" and "GENERIC" in runner["violations"][0]["message"]


def test_policy_develop_eval_from_the_installed_cli(cli: Cli) -> None:
    proc = cli(
        "policy", "develop", "eval", "--policy", "sbom-ntia", "--material", str(SBOM), "-o", "json"
    )
    record = json.loads(proc.stdout)
    assert record["name"] == "sbom-ntia" and record["type"] == "SBOM_CYCLONEDX_JSON"
    assert record["violations"][0]["message"].startswith("5 of 5 components have no supplier")


def test_bypass_and_exit_code_on_violation(cli: Cli, server: Server) -> None:
    cli("project", "create", "--name", "byp")
    cli("workflow", "contract", "create", "--name", "byp-release", "-f", str(CONTRACT))
    cli("workflow", "create", "--name", "build", "--project", "byp", "--contract", "byp-release")

    def robot(*flags: str) -> str:
        created = cli.json("api-token", "create", "--name", "byp-ci", "--project", "byp", *flags)
        assert isinstance(created, dict)
        return str(created["token"])

    def attest(token: str) -> None:
        cli("attestation", "init", "--workflow", "build", "--project", "byp", token=token)
        cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=token)
        cli("attestation", "add", "--name", "image", "--value", IMAGE, token=token)

    plain = robot()
    attest(plain)
    refused = cli(
        "attestation", "push", "--exception-bypass-policy-check", token=plain, check=False
    )
    assert refused.returncode == 3 and "may not bypass policy checks" in refused.stderr
    cli("attestation", "reset", token=plain)

    granted = robot("--allow-policy-bypass")
    attest(granted)
    through = cli("attestation", "push", "--exception-bypass-policy-check", token=granted)
    assert "Gated policy violations were bypassed" in through.stderr
    assert "policy sbom-banned-licenses: 2 violation(s)" in through.stderr

    # Advisory violations (sbom-ntia, runner-ci) do not fail a job unless it asks them to.
    attest(granted)
    failing = cli(
        "attestation",
        "push",
        "--exception-bypass-policy-check",
        "--exit-code-on-violation",
        "-o",
        "json",
        token=granted,
        check=False,
    )
    assert failing.returncode == 1, failing.stderr
    run = json.loads(failing.stdout)
    assert run["status"] == "succeeded"  # pushed and recorded all the same
    assert {e["name"] for e in run["policy_evaluations"] if e["violations"]} >= {
        "sbom-banned-licenses",
        "sbom-ntia",
        "runner-ci",
    }


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: required policies apply to every run of the organisation."""
    yield from start_server(tmp_path_factory.mktemp("required"), run_expiry_seconds=600)


def test_required_policies_give_feedback_at_add_and_block_the_push(
    own_server: Server, tmp_path: Path
) -> None:
    cli = cli_for(own_server, tmp_path)
    robot = _setup_workflow(cli, "req")  # a contract that names no policy
    required = tmp_path / "required.yaml"
    required.write_text(
        "policies:\n"
        "  materials:\n"
        "    - ref: sbom-banned-licenses\n"
        "      with: {licenses: BSD-3-Clause}\n"
        "      gate: true\n"
    )
    cli("org", "update", "--required-policies", str(required))

    cli("attestation", "init", "--workflow", "build", "--project", "req", token=robot)
    # The CLI evaluates the organisation's required policy at add, as the contract's.
    added = cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
    assert "policy sbom-banned-licenses: 2 violation(s)" in added.stderr
    cli("attestation", "add", "--name", "image", "--value", IMAGE, token=robot)
    cli("attestation", "add", "--name", "version", "--value", "1.0.0", token=robot)
    pushed = cli("attestation", "push", token=robot, check=False)
    assert pushed.returncode == 1, pushed.stderr
    assert "blocked by policy: sbom-banned-licenses on sbom" in pushed.stderr

    # A required policy that cannot run stops init, as a contract's would.
    required.write_text("policies:\n  materials:\n    - ref: no-such-policy\n")
    cli("org", "update", "--required-policies", str(required))
    failed = cli(
        "attestation", "init", "--workflow", "build", "--project", "req", token=robot, check=False
    )
    assert failed.returncode != 0
    assert "no-such-policy" in failed.stderr

    cli("org", "update", "--clear-required-policies")
    cli("attestation", "init", "--workflow", "build", "--project", "req", token=robot)
    added = cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
    assert "sbom-banned-licenses" not in added.stderr
