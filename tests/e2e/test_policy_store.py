"""Stored policies from the installed CLI against a server process: create, update, list,
describe (with revisions), and the refusals a security team will meet."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.e2e.conftest import Cli

STORED = Path(__file__).parent.parent / "assets" / "policies" / "stored"


def test_create_update_list_and_describe_a_stored_policy(cli: Cli, tmp_path: Path) -> None:
    first = (STORED / "banned-components.yaml").read_text()
    policy = tmp_path / "banned-components.yaml"
    policy.write_text(first)
    created = cli.json("policy", "create", "-f", str(policy))
    assert isinstance(created, dict)
    assert created["revision"] == 1 and created["source"] == "org"
    assert created["digest"] == "sha256:" + hashlib.sha256(first.encode()).hexdigest()

    # Same text: no new revision. New text: revision 2.
    same = cli("policy", "update", "-f", str(policy))
    assert "unchanged (same digest as revision 1)" in same.stderr
    second = first.replace("default: urllib3", "default: requests")
    policy.write_text(second)
    updated = cli.json("policy", "update", "-f", str(policy))
    assert isinstance(updated, dict) and updated["revision"] == 2
    assert updated["uri"].endswith("/policies/banned-components/revisions/2")

    described = cli("policy", "describe", "banned-components")
    assert "default: requests" in described.stdout and "2 (latest 2)" in described.stdout
    old = cli.json("policy", "describe", "banned-components", "--revision", "1")
    assert isinstance(old, dict) and old["document"] == first

    listed = cli.json("policy", "list")
    assert isinstance(listed, list)
    sources = {item["name"]: item["source"] for item in listed}
    assert sources["banned-components"] == "org" and sources["sbom-ntia"] == "builtin"
    table = cli("policy", "list", "--no-builtin", COLUMNS="200")
    assert "banned-components" in table.stdout and "sbom-ntia" not in table.stdout
    builtin = cli.json("policy", "describe", "sbom-quality")
    assert isinstance(builtin, dict) and builtin["kind"] == "PolicyGroup"
    assert builtin["source"] == "builtin"

    group = cli.json("policy", "create", "-f", str(STORED / "team-sbom.yaml"))
    assert isinstance(group, dict) and group["kind"] == "PolicyGroup"
    stored = json.loads(cli("policy", "list", "--no-builtin", "-o", "json").stdout)
    assert [i["name"] for i in stored] == ["banned-components", "team-sbom"]


def test_refusals_from_the_installed_cli(cli: Cli, tmp_path: Path) -> None:
    bad = cli("policy", "create", "-f", str(STORED / "bad-syntax.yaml"), check=False)
    assert bad.returncode == 2 and "bad-syntax.yaml:6: not valid YAML or JSON" in bad.stderr
    path = cli("policy", "create", "-f", str(STORED / "with-path.yaml"), check=False)
    assert path.returncode == 2 and "put the script in `embedded:`" in path.stderr
    shadow = tmp_path / "sbom-ntia.yaml"
    shadow.write_text(
        (STORED / "banned-components.yaml")
        .read_text()
        .replace("name: banned-components", "name: sbom-ntia")
    )
    taken = cli("policy", "create", "-f", str(shadow), check=False)
    assert taken.returncode == 5 and "'sbom-ntia' is the name of a built-in policy" in taken.stderr
    unknown = cli("policy", "describe", "no-such-policy", check=False)
    assert unknown.returncode == 3 and "not found" in unknown.stderr
    robot = cli.json("api-token", "create", "--name", "policy-ci")
    assert isinstance(robot, dict)
    refused = cli(
        "policy", "create", "-f", str(STORED / "team-sbom.yaml"), token=robot["token"], check=False
    )
    assert refused.returncode == 3 and "owner or admin" in refused.stderr


def test_a_stored_policy_judges_add_and_gates_push(cli: Cli, tmp_path: Path) -> None:
    """The CLI resolves the stored policy at add (robot token), the server at push."""
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_text(
        json.dumps(
            {
                "bomFormat": "CycloneDX",
                "specVersion": "1.6",
                "version": 1,
                "components": [{"type": "library", "name": "urllib3", "version": "2.2.0"}],
            }
        )
    )
    policy = tmp_path / "gate-banned.yaml"
    policy.write_text(
        (STORED / "banned-components.yaml")
        .read_text()
        .replace("name: banned-components", "name: gate-banned")
    )
    cli("policy", "create", "-f", str(policy))
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: stored-gate}\n"
        "spec:\n  materials:\n    - {type: SBOM_CYCLONEDX_JSON, name: sbom}\n"
        "  policies:\n    materials:\n      - {ref: gate-banned, gate: true}\n"
    )
    cli("project", "create", "--name", "stored")
    cli("workflow", "contract", "create", "--name", "stored-gate", "-f", str(contract))
    cli("workflow", "create", "--name", "build", "--project", "stored", "--contract", "stored-gate")
    created = cli.json("api-token", "create", "--name", "stored-ci", "--project", "stored")
    assert isinstance(created, dict)
    robot = str(created["token"])
    cli("attestation", "init", "--workflow", "build", "--project", "stored", token=robot)
    added = cli("attestation", "add", "--name", "sbom", "--value", str(sbom), token=robot)
    assert "policy gate-banned: 1 violation(s)" in added.stderr
    assert "component urllib3 is banned" in added.stderr
    pushed = cli("attestation", "push", token=robot, check=False)
    assert pushed.returncode == 1
    assert "blocked by policy: gate-banned on sbom: component urllib3 is banned" in pushed.stderr
