"""Runtime policy inputs from the installed CLI: refused when unknown, used at add and by the
control plane at push, recorded in the statement."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli, Server
from tests.receivers import Receiver

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


def test_chainloops_column_form_appends_to_the_contracts_value(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    """--policy-input-from-file [POLICY:]NAME=FILE[:COLUMN], as Chainloop takes it: the
    column's values are added to the contract's, recorded as such, and the control plane
    evaluates with both."""
    cli("project", "create", "--name", "inpcol")
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT.replace("inputs-release", "inputs-column"), encoding="utf-8")
    cli("workflow", "contract", "create", "--name", "inputs-column", "-f", str(contract))
    create = ("workflow", "create", "--name", "build", "--project", "inpcol")
    cli(*create, "--contract", "inputs-column")
    banned = tmp_path / "banned.csv"
    banned.write_text("License,Reason\nBSD-3-Clause,legal review\n", encoding="utf-8")
    cli(
        "attestation", "init", "--workflow", "build", "--project", "inpcol",
        "--policy-input-from-file", f"sbom-banned-licenses:licenses={banned}:license",
    )  # fmt: skip
    added = cli.json("attestation", "add", "--name", "sbom", "--value", str(SBOM))
    assert isinstance(added, dict)
    assert added["policies"][0]["with"] == {"licenses": "AGPL-3.0-only\nBSD-3-Clause"}
    pushed = cli("attestation", "push", check=False)
    assert pushed.returncode == 1, pushed.stderr
    assert "blocked by policy: sbom-banned-licenses on sbom" in pushed.stderr
    runs = cli.json("workflow", "run", "list", "--workflow", "build", "--project", "inpcol")
    assert isinstance(runs, list)
    statement = json.loads(
        cli("workflow", "run", "describe", "--id", runs[0]["id"], "-o", "statement").stdout
    )
    assert statement["predicate"]["policyInputs"] == [
        {
            "name": "licenses",
            "value": "BSD-3-Clause",
            "policy": "sbom-banned-licenses",
            "mode": "append",
        }
    ]


HTTP_POLICY = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: notify}
spec:
  inputs:
    - {name: url, required: true}
  policies:
    - kind: SBOM_CYCLONEDX_JSON
      embedded: |
        package notify
        import rego.v1
        response := http.send({"method": "POST", "url": input.args.url, "body": {"text": "hi"}})
        violations contains "the receiver refused" if response.status_code != 200
"""


def test_http_send_to_allowed_hosts_through_the_installed_cli(cli: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "notify.yaml"
    policy.write_text(HTTP_POLICY, encoding="utf-8")
    with Receiver().running() as receiver:
        run = ("policy", "develop", "eval", "--policy", str(policy), "--material", str(SBOM))
        url = f"url={receiver.url}/slack"
        off = cli(*run, "--input", url, check=False)
        assert off.returncode == 2 and "http.send() is off" in off.stderr
        other = cli(*run, "--input", url, "--allowed-hostnames", "example.com", check=False)
        assert other.returncode == 1, other.stderr
        assert "http.send to 127.0.0.1 is not allowed (allowed hosts: example.com)" in other.stderr
        assert receiver.served == 0
        allowed = cli(*run, "--input", url, "--allowed-hostnames", "example.com,127.0.0.1")
        assert "passed: no violations" in allowed.stdout
        assert receiver.chats == [("/slack", {"text": "hi"})]

    bad = cli("org", "update", "--policies-allowed-hostnames", "https://x.dev", check=False)
    assert bad.returncode == 2 and "is not a host name" in bad.stderr
    with Receiver().running() as receiver:
        embedded = "\n".join("          " + line for line in HTTP_POLICY.splitlines())
        contract = tmp_path / "contract.yaml"
        contract.write_text(
            "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: http-release}\n"
            "spec:\n  materials:\n    - {type: SBOM_CYCLONEDX_JSON, name: sbom}\n"
            "  policies:\n    materials:\n      - gate: true\n"
            f"        with: {{url: '{receiver.url}/slack'}}\n        embedded:\n{embedded}\n",
            encoding="utf-8",
        )
        cli("project", "create", "--name", "net")
        cli("workflow", "contract", "create", "--name", "http-release", "-f", str(contract))
        create = ("workflow", "create", "--name", "build", "--project", "net")
        cli(*create, "--contract", "http-release")
        init = ("attestation", "init", "--workflow", "build", "--project", "net")
        add = ("attestation", "add", "--name", "sbom", "--value", str(SBOM))

        # --allowed-hostnames changes what the CLI's own evaluation may reach, no more.
        cli(*init, "--allowed-hostnames", "127.0.0.1")
        assert "policy notify: passed" in cli(*add).stderr
        assert receiver.chats == [("/slack", {"text": "hi"})]
        refused = cli("attestation", "push", check=False)  # the organisation allows no host
        assert refused.returncode == 1 and "http.send() is off" in refused.stderr
        assert len(receiver.chats) == 1

        # The organisation's list reaches both the CLI (init receives it) and the control plane.
        updated = cli.json("org", "update", "--policy-allowed-hostnames", "127.0.0.1,Example.com")
        assert isinstance(updated, dict)
        assert updated["policy_allowed_hostnames"] == ["127.0.0.1", "example.com"]
        cli(*init, "--replace")
        assert "policy notify: passed" in cli(*add).stderr
        cli("attestation", "push")
        assert len(receiver.chats) == 3  # the first add, this add, the control plane's push

    cleared = cli.json("org", "update", "--policies-allowed-hostnames", "")
    assert isinstance(cleared, dict) and cleared["policy_allowed_hostnames"] == []
