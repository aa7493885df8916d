"""Discover and component search end to end (issue 20): a run pushes cyclonedx-py's SBOM of
the test venv and a container image; the server's worker indexes it; the CLI finds a chosen
component by purl and by name and range, and discover links the image to the SBOM and run."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Cli, Server, cli_for, start_server
from tests.e2e.test_attestation_flow import _setup_workflow

ROOT = Path(__file__).parents[2]
IMAGE_DIGEST = "sha256:" + "d1" * 32
IMAGE = "registry.example.com/acme/shop@" + IMAGE_DIGEST
CHOSEN = "cryptography"  # a dependency of the venv cyclonedx-py describes


@pytest.fixture(scope="module")
def indexing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose worker indexes new pushes every half second."""
    extra = {"CHAINPROOF_DISCOVER_INDEX_SECONDS": "0.5"}
    yield from start_server(
        tmp_path_factory.mktemp("server"), run_expiry_seconds=600, extra_env=extra
    )


def _venv_sbom(out: Path) -> Path:
    path = out / "venv.cdx.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cyclonedx_py",
            "environment",
            "--pyproject",
            str(ROOT / "pyproject.toml"),
            "--sv",
            "1.6",
            "--of",
            "JSON",
            "--no-validate",
            "-o",
            str(path),
            sys.executable,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


def _until_found(cli: Cli, *args: str) -> list[dict[str, Any]]:
    """The search's JSON once the worker has indexed the push (bounded wait)."""
    deadline = time.monotonic() + 30
    while True:
        found = cli.json("component", "search", *args)
        assert isinstance(found, list)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_a_pushed_venv_sbom_is_searchable_and_discoverable(
    indexing_server: Server, tmp_path: Path
) -> None:
    cli = cli_for(indexing_server, tmp_path)
    robot = _setup_workflow(cli, "shop")
    sbom = _venv_sbom(tmp_path)
    cli("attestation", "init", "--workflow", "build", "--project", "shop", token=robot)
    cli("attestation", "add", "--name", "sbom", "--value", str(sbom), token=robot)
    cli("attestation", "add", "--name", "image", "--value", IMAGE, token=robot)
    cli("attestation", "add", "--name", "version", "--value", "1.2.3", token=robot)
    cli("attestation", "push", token=robot)
    run_id = cli.json("workflow", "run", "list", "--project", "shop")[0]["id"]  # type: ignore[index]

    version = importlib.metadata.version(CHOSEN)
    by_purl = _until_found(cli, "--purl", f"pkg:pypi/{CHOSEN}@{version}")
    assert [(c["name"], c["version"], c["run"]["id"]) for c in by_purl] == [
        (CHOSEN, version, run_id)
    ]
    assert by_purl[0]["images"][0]["digest"] == IMAGE_DIGEST
    major = int(version.split(".")[0])
    ranged = cli.json(
        "component", "search", "--name", CHOSEN, "--version", f">={major},<{major + 1}", "--latest"
    )
    assert [c["run"]["id"] for c in ranged] == [run_id]  # type: ignore[index,union-attr]
    assert cli.json("component", "search", "--name", CHOSEN, "--version", f"<{major}") == []
    table = cli("component", "search", "--purl", f"pkg:pypi/{CHOSEN}", COLUMNS="200")
    assert run_id[:8] in table.stdout

    tree = cli.json("discover", IMAGE_DIGEST)
    assert isinstance(tree, dict)
    assert [r["id"] for r in tree["runs"]] == [run_id]
    kinds = {r["kind"] for r in tree["runs"][0]["references"]}
    assert {"SBOM_CYCLONEDX_JSON", "CONTAINER_IMAGE", "ATTESTATION"} <= kinds
    drawn = cli("discover", IMAGE_DIGEST, "--depth", "2", COLUMNS="200")
    assert run_id[:8] in drawn.stdout and "SBOM_CYCLONEDX_JSON" in drawn.stdout
    missing = cli("discover", "sha256:" + "0" * 64, check=False)
    assert missing.returncode == 3
