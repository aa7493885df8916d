"""Contract revisions, runner enforcement and allow-listed env, from the installed CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli

ASSETS = Path(__file__).parent.parent / "assets" / "e2e"

GITHUB_ENV = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_REPOSITORY_OWNER": "acme",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_SHA": "3" * 40,
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_ACTOR": "octocat",
    "RUNNER_OS": "Linux",
    "RUNNER_ENVIRONMENT": "github-hosted",
}


def test_github_runner_and_allow_listed_env_are_recorded(cli: Cli) -> None:
    cli("project", "create", "--name", "ghenv")
    cli(
        "workflow",
        "contract",
        "create",
        "--name",
        "gh-release",
        "-f",
        str(ASSETS / "contract-github-env.yaml"),
    )
    cli("workflow", "create", "--name", "build", "--project", "ghenv", "--contract", "gh-release")

    # The allow-listed variable is required: without it init fails and says which one.
    proc = cli(
        "attestation",
        "init",
        "--workflow",
        "build",
        "--project",
        "ghenv",
        check=False,
        **GITHUB_ENV,
    )
    assert proc.returncode == 1
    assert "RELEASE_CHANNEL" in proc.stderr

    env = {**GITHUB_ENV, "RELEASE_CHANNEL": "stable"}
    cli("attestation", "init", "--workflow", "build", "--project", "ghenv", "--replace", **env)
    cli("attestation", "add", "--name", "version", "--value", "2.0.0", **env)
    cli("attestation", "push", **env)

    runs = cli.json("workflow", "run", "list", "--project", "ghenv")
    assert isinstance(runs, list)
    pushed = next(r for r in runs if r["status"] == "succeeded")
    assert pushed["runner_type"] == "GITHUB_ACTION"
    assert pushed["runner_url"] == "https://github.com/acme/shop/actions/runs/4242"
    statement = json.loads(
        cli("workflow", "run", "describe", "--id", pushed["id"], "-o", "statement").stdout
    )
    runner = statement["predicate"]["runner"]
    assert runner["type"] == "GITHUB_ACTION"
    assert runner["environment"] == "managed"
    assert runner["env"]["RELEASE_CHANNEL"] == "stable"
    assert runner["env"]["GITHUB_SHA"] == "3" * 40


def test_contract_revisions_are_immutable_and_runs_record_theirs(cli: Cli) -> None:
    cli("workflow", "contract", "create", "--name", "revs", "-f", str(ASSETS / "contract.yaml"))
    # The same contract again is not a new revision; a changed one is.
    same = cli.json(
        "workflow", "contract", "update", "--name", "revs", "-f", str(ASSETS / "contract.yaml")
    )
    assert isinstance(same, dict) and same["revision"] == 1
    cli("attestation", "init", "--workflow", "w1", "--project", "revp", "--contract", "revs")
    changed = cli.json(
        "workflow",
        "contract",
        "update",
        "--name",
        "revs",
        "-f",
        str(ASSETS / "contract-github-only.yaml"),
    )
    assert isinstance(changed, dict) and changed["revision"] == 2

    first = cli.json("workflow", "contract", "describe", "--name", "revs", "--revision", "1")
    latest = cli.json("workflow", "contract", "describe", "--name", "revs")
    assert isinstance(first, dict) and isinstance(latest, dict)
    assert [m["name"] for m in first["spec"]["spec"]["materials"]] == [
        "sbom",
        "image",
        "version",
        "binary",
    ]
    assert latest["revision"] == 2 and latest["spec"]["spec"]["runner"]["type"] == "GITHUB_ACTION"

    runs = cli.json("workflow", "run", "list", "--project", "revp")
    assert isinstance(runs, list)
    assert runs[0]["contract_name"] == "revs" and runs[0]["contract_revision"] == 1
