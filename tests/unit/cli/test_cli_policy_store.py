"""``chainproof policy list|describe|create|update`` in-process, the real ApiClient over
httpx.MockTransport (the seam of test_cli_commands.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi, problem
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

STORED = Path(__file__).resolve().parents[2] / "assets" / "policies" / "stored"
POLICY = STORED / "banned-components.yaml"
DIGEST = "sha256:" + "ab" * 32


def view(revision: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "name": "banned-components",
        "kind": "Policy",
        "description": "No component the security team banned.",
        "source": "org",
        "revision": revision,
        "latest_revision": revision,
        "digest": DIGEST,
        "uri": f"chainproof://acme/policies/banned-components/revisions/{revision}",
        "document": POLICY.read_text(),
        "created_at": "2026-12-07T09:00:00Z",
        "created_by": "owner",
        "updated_at": "2026-12-07T09:00:00Z",
        **extra,
    }


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def cli(api: FakeApi) -> Callable[..., Any]:
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        obj = CliContext(transport=httpx.MockTransport(api), retries=1, backoff=0)
        argv = ["--url", URL, "--token", TOKEN, *args]
        # Wide enough that Rich does not fold digests and names across lines.
        return runner.invoke(app, argv, obj=obj, env={"COLUMNS": "200"})

    return invoke


def test_create_sends_the_document_and_shows_the_revision(cli: Any, api: FakeApi) -> None:
    api.on("POST", "/api/v1/policies", view(), status=201)
    result = cli("policy", "create", "-f", str(POLICY))
    assert result.exit_code == 0, result.output
    assert api.body() == {"document": POLICY.read_text()}
    assert "Policy banned-components created" in result.stdout
    assert f"banned-components@{DIGEST}" in result.stdout  # how a contract pins it
    as_json = cli("policy", "create", "-f", str(POLICY), "-o", "json")
    assert json.loads(as_json.stdout)["revision"] == 1


def test_create_checks_the_file_first_naming_file_and_line(
    cli: Any, api: FakeApi, tmp_path: Path
) -> None:
    result = cli("policy", "create", "-f", str(STORED / "bad-syntax.yaml"))
    assert result.exit_code == 2
    assert f"{STORED / 'bad-syntax.yaml'}:6: not valid YAML or JSON" in result.output
    result = cli("policy", "create", "-f", str(STORED / "with-path.yaml"))
    assert result.exit_code == 2
    assert "with-path.yaml:7: spec.policies[0].path: a stored policy cannot read" in result.output
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("metadata: {name: caf\xe9}\n".encode("latin-1"))
    result = cli("policy", "create", "-f", str(latin1))
    assert result.exit_code == 2 and "not UTF-8 text" in result.output
    assert api.requests == []  # nothing was sent


def test_server_refusals_keep_their_exit_codes(cli: Any, api: FakeApi) -> None:
    api.on(
        "POST",
        "/api/v1/policies",
        lambda r: problem(409, "conflict", "policy 'banned-components' already exists"),
    )
    result = cli("policy", "create", "-f", str(POLICY))
    assert result.exit_code == 5 and "already exists" in result.output
    api.on(
        "POST",
        "/api/v1/policies",
        lambda r: problem(403, "forbidden", "this action needs an owner or admin token"),
    )
    result = cli("policy", "create", "-f", str(POLICY))
    assert result.exit_code == 3 and "owner or admin" in result.output


def test_update_names_the_policy_from_the_document(cli: Any, api: FakeApi) -> None:
    path = "/api/v1/policies/banned-components"
    api.on("GET", path, view(1))
    api.on("PUT", path, view(2))
    result = cli("policy", "update", "-f", str(POLICY))
    assert result.exit_code == 0, result.output
    assert api.requests[-1].method == "PUT" and api.body() == {"document": POLICY.read_text()}
    assert "2 (latest 2)" in result.stdout and "unchanged" not in result.output
    api.on("PUT", path, view(1))
    result = cli("policy", "update", "-f", str(POLICY))
    assert "Policy banned-components is unchanged (same digest as revision 1)" in result.output
    api.routes.pop(("GET", path))
    result = cli("policy", "update", "-f", str(POLICY))
    assert result.exit_code == 3  # not stored: 404


def test_describe_prints_the_document(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/policies/banned-components", view(1))
    result = cli("policy", "describe", "banned-components", "--revision", "1")
    assert result.exit_code == 0, result.output
    assert api.requests[-1].url.params["revision"] == "1"
    assert "package banned_components" in result.stdout and DIGEST in result.stdout
    as_json = json.loads(cli("policy", "describe", "banned-components", "-o", "json").stdout)
    assert as_json["document"] == POLICY.read_text()
    assert "revision" not in api.requests[-1].url.params
    assert cli("policy", "describe", "nope").exit_code == 3
    assert cli("policy", "describe", "banned-components", "--revision", "0").exit_code == 2


def test_list_shows_stored_and_builtin_policies(cli: Any, api: FakeApi) -> None:
    builtin = {**view(), "name": "sbom-ntia", "source": "builtin", "revision": None}
    items = [view(), builtin]
    api.on("GET", "/api/v1/policies", {"items": items, "next_cursor": None})
    result = cli("policy", "list")
    assert result.exit_code == 0, result.output
    assert api.requests[-1].url.params["builtin"] == "true"
    assert "banned-components" in result.stdout and "builtin" in result.stdout
    listed = json.loads(cli("policy", "list", "--no-builtin", "-o", "json").stdout)
    assert "builtin" not in api.requests[-1].url.params
    assert [i["name"] for i in listed] == ["banned-components", "sbom-ntia"]
