"""With ``-o json`` a failure is one JSON document on stderr; without it, lines for people."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi, problem
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli._errors import wants_json
from chainproof.cli.main import app


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def cli(api: FakeApi) -> Callable[..., Any]:
    def invoke(*args: str) -> Any:
        obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
        argv = ["--url", URL, "--token", TOKEN, *args]
        return CliRunner().invoke(app, argv, obj=obj, env={"CHAINPROOF_TOKEN": ""})

    return invoke


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "list", "-o", "json"], True),
        (["run", "list", "-ojson"], True),
        (["run", "list", "--output", "json"], True),
        (["run", "list", "--output=json"], True),
        (["run", "list", "-o", "table"], False),
        (["run", "list", "-o", "json", "-o", "table"], False),  # the last one wins
        (["run", "list"], False),
        (["run", "list", "-o"], False),
        (["verify", "--", "-o", "json"], False),  # after --: arguments, not options
        (["run", "describe", "-o", "statement"], False),
    ],
)
def test_wants_json_reads_every_spelling(argv: list[str], expected: bool) -> None:
    assert wants_json(argv) is expected


def _error(stderr: str) -> dict[str, Any]:
    document = json.loads(stderr)  # the whole of stderr is one JSON document
    assert set(document) == {"error"}
    assert set(document["error"]) == {"code", "message", "hint", "details"}
    return dict(document["error"])


@pytest.mark.parametrize("spelling", [["-o", "json"], ["-ojson"], ["--output=json"]])
def test_api_error_is_json_on_stderr(cli: Any, api: FakeApi, spelling: list[str]) -> None:
    api.on(
        "GET",
        "/api/v1/runs",
        lambda r: problem(409, "conflict", "it clashes", hint="reset it", details={"x": 1}),
    )
    result = cli("workflow", "run", "list", *spelling)
    assert result.exit_code == 5
    assert result.stdout == ""
    assert _error(result.stderr) == {
        "code": "conflict",
        "message": "it clashes",
        "hint": "reset it",
        "details": {"x": 1},
    }


def test_error_without_hint_has_null_hint(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/projects", lambda r: problem(404, "not_found", "gone"))
    result = cli("project", "list", "-o", "json")
    assert result.exit_code == 3
    assert _error(result.stderr) == {
        "code": "not_found",
        "message": "gone",
        "hint": None,
        "details": {},
    }


def test_local_error_is_json_too(cli: Any) -> None:
    result = cli("artifact", "download", "sha256:xyz", "-o", "json")
    assert result.exit_code == 2
    assert _error(result.stderr)["code"] == "invalid_input"


def test_usage_error_is_json_with_o_json(cli: Any) -> None:
    result = cli("workflow", "run", "list", "--status", "weird", "-o", "json")
    assert result.exit_code == 2
    error = _error(result.stderr)
    assert error["code"] == "usage_error"
    assert "--status" in error["message"]
    assert error["hint"] == "see 'chainproof workflow run list --help'"
    unknown = cli("project", "list", "--bogus", "-o", "json")
    assert unknown.exit_code == 2
    assert "--bogus" in _error(unknown.stderr)["message"]
    # A bad value the command itself rejects (typer.BadParameter in its body).
    expiry = cli("api-token", "create", "--name", "ci", "--expires", "soon", "-o", "json")
    assert expiry.exit_code == 2
    assert "soon" in _error(expiry.stderr)["message"]


def test_without_o_json_errors_stay_for_people(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/projects", lambda r: problem(404, "not_found", "gone", hint="look"))
    result = cli("project", "list")
    assert result.exit_code == 3
    assert result.stderr == "Error: gone\nHint: look\n"
    usage = cli("project", "list", "--bogus")
    assert usage.exit_code == 2 and "No such option" in usage.stderr
    with pytest.raises(ValueError):
        json.loads(usage.stderr)
