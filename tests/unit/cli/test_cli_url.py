"""``--url`` and ``CHAINPROOF_URL`` are normalised to the server root, or refused (exit 2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.unit.cli.test_cli_commands import TOKEN, FakeApi
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app


def _invoke(api: FakeApi, *args: str, env: dict[str, str]) -> Any:
    obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
    return CliRunner().invoke(app, list(args), obj=obj, env={"CHAINPROOF_TOKEN": TOKEN, **env})


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/v1", "/api/v1/"])
def test_env_url_with_an_api_suffix_reaches_the_api(suffix: str) -> None:
    api = FakeApi()
    api.on("GET", "/api/v1/projects", {"items": [], "next_cursor": None})
    result = _invoke(api, "project", "list", env={"CHAINPROOF_URL": f"http://cp.test{suffix}"})
    assert result.exit_code == 0, result.output
    assert [str(r.url) for r in api.requests] == ["http://cp.test/api/v1/projects?limit=100"]


def test_flag_url_is_normalised_too() -> None:
    api = FakeApi()
    api.on("GET", "/api/v1/projects", {"items": [], "next_cursor": None})
    result = _invoke(api, "--url", "http://cp.test/api/v1", "project", "list", env={})
    assert result.exit_code == 0, result.output
    assert api.requests[0].url.path == "/api/v1/projects"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("cp.test:8000", "has no scheme"),
        ("file:///tmp", "scheme 'file'"),
        ("http://cp.test/x", "path '/x'"),
    ],
)
def test_unusable_url_exits_2_naming_the_expected_form(url: str, says: str) -> None:
    api = FakeApi()
    result = _invoke(api, "project", "list", env={"CHAINPROOF_URL": url})
    assert result.exit_code == 2
    assert says in result.stderr and "http://127.0.0.1:8000" in result.stderr
    assert api.requests == []
