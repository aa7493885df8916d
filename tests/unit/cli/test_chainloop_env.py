"""Chainloop's environment variables as aliases (docs/migrating-from-chainloop.md): the CLI
reads them where they mean the same, and chainproof's own variable wins when both are set."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tests.unit.cli.test_cli_commands import FakeApi
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app
from chainproof.oci.registry import credentials_for


def _tokens_sent(env: dict[str, str]) -> list[str]:
    api = FakeApi()
    api.on("GET", "/api/v1/projects", {"items": [], "next_cursor": None})
    obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
    result = CliRunner().invoke(
        app, ["project", "list"], obj=obj, env={"CHAINPROOF_URL": "http://cp.test", **env}
    )
    assert result.exit_code == 0, result.output
    return [r.headers["Authorization"] for r in api.requests]


def test_chainloop_token_is_used_when_chainproof_token_is_not_set() -> None:
    assert _tokens_sent({"CHAINLOOP_TOKEN": "cp_from_chainloop"}) == ["Bearer cp_from_chainloop"]


def test_chainproof_token_wins_over_chainloop_token() -> None:
    env = {"CHAINPROOF_TOKEN": "cp_own", "CHAINLOOP_TOKEN": "cp_from_chainloop"}
    assert _tokens_sent(env) == ["Bearer cp_own"]


def test_the_token_flag_wins_over_both() -> None:
    api = FakeApi()
    api.on("GET", "/api/v1/projects", {"items": [], "next_cursor": None})
    obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
    env = {"CHAINPROOF_URL": "http://cp.test", "CHAINLOOP_TOKEN": "cp_from_chainloop"}
    result = CliRunner().invoke(app, ["--token", "cp_flag", "project", "list"], obj=obj, env=env)
    assert result.exit_code == 0, result.output
    assert api.requests[0].headers["Authorization"] == "Bearer cp_flag"


def test_help_names_the_alias() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert "CHAINLOOP_TOKEN" in result.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CHAINLOOP_REGISTRY_USERNAME": "ci", "CHAINLOOP_REGISTRY_PASSWORD": "s3"},
            ("ci", "s3"),
        ),
        (  # chainproof's set wins as a whole: no mixing of user and password
            {
                "CHAINPROOF_REGISTRY_USERNAME": "own",
                "CHAINPROOF_REGISTRY_PASSWORD": "pw",
                "CHAINLOOP_REGISTRY_USERNAME": "ci",
                "CHAINLOOP_REGISTRY_PASSWORD": "s3",
            },
            ("own", "pw"),
        ),
        (  # Chainloop's server names another registry: its credentials are not for this one
            {
                "CHAINLOOP_REGISTRY_USERNAME": "ci",
                "CHAINLOOP_REGISTRY_PASSWORD": "s3",
                "CHAINLOOP_REGISTRY_SERVER": "registry.other",
            },
            None,
        ),
    ],
)
def test_registry_credentials_from_chainloop_variables(
    env: dict[str, str], expected: tuple[str, str] | None, tmp_path: Path
) -> None:
    # an empty Docker config, so that only the variables can answer
    (tmp_path / "config.json").write_text(json.dumps({"auths": {}}))
    found = credentials_for("ghcr.io", {**env, "DOCKER_CONFIG": str(tmp_path)})
    assert (None if found is None else (found.username, found.password)) == expected


def test_key_password_reads_chainloops_signing_password_last() -> None:
    import typer.main

    root = typer.main.get_command(app)
    ctx = root.make_context("chainproof", ["attestation", "push"], resilient_parsing=True)
    push = root.get_command(ctx, "attestation").get_command(ctx, "push")  # type: ignore[union-attr]
    (param,) = [p for p in push.params if p.name == "key_password"]
    assert param.envvar == [
        "CHAINPROOF_KEY_PASSWORD",
        "COSIGN_PASSWORD",
        "CHAINLOOP_SIGNING_PASSWORD",
    ]
