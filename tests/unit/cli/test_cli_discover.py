"""`chainproof discover` and `component search` in-process over a fake API: what they ask for
and how they show it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi, problem
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

IMAGE = "sha256:" + "d1" * 32
SBOM = "sha256:" + "5b" * 32
RUN = {
    "id": "9b1d20aa-1111-4000-8000-000000000000",
    "project": "shop",
    "workflow": "build",
    "project_version": "1.2.3",
    "status": "succeeded",
    "created_at": "2026-12-07T02:55:13Z",
    "attestation_digest": "sha256:" + "a7" * 32,
    "roles": ["material", "subject"],
}
TREE = {
    "digest": IMAGE,
    "kind": "CONTAINER_IMAGE",
    "names": ["image"],
    "runs": [
        {
            **RUN,
            "references": [
                {
                    "digest": SBOM,
                    "role": "material",
                    "name": "sbom",
                    "kind": "SBOM_CYCLONEDX_JSON",
                    "repository": None,
                    "tag": None,
                },
                {
                    "digest": IMAGE,
                    "role": "subject",
                    "name": "registry.example.com/shop",
                    "kind": "CONTAINER_IMAGE",
                    "repository": "registry.example.com/shop",
                    "tag": "1.0",
                },
            ],
        }
    ],
}
HIT = {
    "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
    "name": "log4j-core",
    "version": "2.14.1",
    "type": "library",
    "licenses": ["Apache-2.0"],
    "hashes": [],
    "sbom_digest": SBOM,
    "project": "shop",
    "workflow": "build",
    "project_version": "1.2.3",
    "run": {"id": RUN["id"], "status": "succeeded", "created_at": RUN["created_at"]},
    "images": [{"digest": IMAGE, "repository": "registry.example.com/shop", "tag": "1.0"}],
}


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def cli(api: FakeApi) -> Callable[..., Any]:
    def invoke(*args: str) -> Any:
        obj = CliContext(transport=httpx.MockTransport(api), retries=0, backoff=0)
        argv = ["--url", URL, "--token", TOKEN, *args]
        env = {"CHAINPROOF_TOKEN": "", "COLUMNS": "200"}
        return CliRunner().invoke(app, argv, obj=obj, env=env)

    return invoke


def test_discover_draws_the_runs_and_their_references(cli: Any, api: FakeApi) -> None:
    api.on("GET", f"/api/v1/discover/{IMAGE}", TREE)
    result = cli("discover", IMAGE, "--depth", "2")
    assert result.exit_code == 0, result.output
    assert api.requests[-1].url.params["depth"] == "2"
    for text in (
        "run 9b1d20aa shop/build 1.2.3 succeeded",
        "material,subject",
        SBOM,
        "SBOM_CYCLONEDX_JSON",
        "registry.example.com/shop:1.0",
    ):
        assert text in result.stdout
    as_json = cli("discover", IMAGE, "-o", "json")
    assert json.loads(as_json.stdout) == TREE


def test_discover_of_an_unknown_digest_exits_3(cli: Any, api: FakeApi) -> None:
    api.on(
        "GET",
        f"/api/v1/discover/{IMAGE}",
        lambda r: problem(404, "not_found", f"no attestation of this organisation names {IMAGE}"),
    )
    assert cli("discover", IMAGE).exit_code == 3


def test_component_search_sends_the_filters_and_shows_the_runs(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/components", {"items": [HIT], "next_cursor": "c2"})
    result = cli(
        "component", "search", "--name", "log4j-core", "--version", ">=2.0,<2.17.1", "--latest"
    )
    assert result.exit_code == 0, result.output
    params = api.requests[-1].url.params
    assert (params["name"], params["version"], params["latest"]) == (
        "log4j-core",
        ">=2.0,<2.17.1",
        "true",
    )
    for text in (HIT["purl"], "shop/build", "1.2.3", "9b1d20aa", "2026-12-07 02:55", IMAGE[:19]):
        assert text in result.stdout
    assert "--next" in result.stderr  # more pages follow


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("nope", "not a digest: 'nope'"),
        ("sha256:abc", "not a valid sha256 digest: 'abc'"),
        ("md5:" + "0" * 32, "not a valid md5 digest"),
    ],
)
def test_discover_refuses_a_malformed_digest_before_any_request(
    cli: Any, api: FakeApi, digest: str, message: str
) -> None:
    result = cli("discover", digest)
    assert result.exit_code == 2
    assert message in result.output
    assert "sha256:<64" in result.output  # the hint says what a digest looks like
    assert api.requests == []
