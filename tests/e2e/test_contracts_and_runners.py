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


def test_pull_request_info_and_runner_context_are_collected_at_init(
    cli: Cli, tmp_path: Path
) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 7,
                    "html_url": "https://github.com/acme/shop/pull/7",
                    "title": "Add the SBOM",
                    "body": "",
                    "user": {"login": "octocat"},
                    "head": {"ref": "sbom", "sha": "4" * 40},
                    "base": {"ref": "main"},
                    "requested_reviewers": [{"login": "hubot"}],
                }
            }
        )
    )
    env = {**GITHUB_ENV, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    init = "attestation", "init", "--workflow", "pr", "--project", "prs"
    cli(*init, "--contract", str(ASSETS / "contract-pr.yaml"), **env)

    status = cli.json("attestation", "status", **env)
    assert isinstance(status, dict)
    assert [(m["name"], m["kind"]) for m in status["extra_materials"]] == [("pr-info", "PR_INFO")]
    runner_slot = next(m for m in status["materials"] if m["name"] == "runner")
    assert runner_slot["kind"] == "RUNNER_CONTEXT" and runner_slot["added"]
    cli("attestation", "add", "--name", "version", "--value", "1.0.0", **env)
    cli("attestation", "push", **env)

    runs = cli.json("workflow", "run", "list", "--project", "prs")
    assert isinstance(runs, list)
    statement = json.loads(
        cli("workflow", "run", "describe", "--id", runs[0]["id"], "-o", "statement").stdout
    )
    recorded = {m["name"]: m for m in statement["predicate"]["materials"]}
    pr_digest = recorded["pr-info"]["digest"]["sha256"]
    pr_file = tmp_path / "pr-info.json"
    cli("artifact", "download", f"sha256:{pr_digest}", "--to", str(pr_file))
    pr = json.loads(pr_file.read_text())
    assert (pr["number"], pr["source_branch"], pr["reviewers"]) == ("7", "sbom", ["hubot"])
    ctx_digest = recorded["runner"]["digest"]["sha256"]
    ctx_file = tmp_path / "runner.json"
    cli("artifact", "download", f"sha256:{ctx_digest}", "--to", str(ctx_file))
    assert json.loads(ctx_file.read_text())["runner"]["type"] == "GITHUB_ACTION"


def test_a_job_outside_a_pull_request_has_no_pr_info(cli: Cli) -> None:
    init = "attestation", "init", "--workflow", "main", "--project", "prs"
    cli(*init, "--contract", str(ASSETS / "contract-pr.yaml"), **GITHUB_ENV)
    status = cli.json("attestation", "status", **GITHUB_ENV)
    assert isinstance(status, dict)
    assert status["extra_materials"] == []
    assert [(m["name"], m["added"]) for m in status["materials"]] == [
        ("version", False),
        ("runner", True),
    ]
