"""Discover and component search end to end (issue 20): a run pushes cyclonedx-py's SBOM of
the test venv and a container image; the server's worker indexes it; the CLI finds a chosen
component by purl and by name and range, and discover links the image to the SBOM and run."""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
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


SPDX_CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: spdx-release}
spec:
  materials:
    - {type: SBOM_SPDX_JSON, name: sbom}
    - {type: CONTAINER_IMAGE, name: image, output: true}
"""
LOG4J = "pkg:maven/org.apache.logging.log4j/log4j-core"


def _spdx_sbom(path: Path, release: str, log4j: str) -> Path:
    """An SPDX 2.3 document of a release, made and written (JSON) by spdx-tools: the app,
    log4j-core at ``log4j`` (Apache-2.0) and jetty-server (EPL-2.0), each with a purl."""
    from spdx_tools.common.spdx_licensing import spdx_licensing
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        Checksum,
        ChecksumAlgorithm,
        CreationInfo,
        Document,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        PackagePurpose,
        Relationship,
        RelationshipType,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.writer.write_anything import write_file

    def package(ident: str, purl: str, license_: str, purpose: PackagePurpose) -> Package:
        name, version = purl.rsplit("/", 1)[1].split("@")
        return Package(
            spdx_id=f"SPDXRef-{ident}",
            name=name,
            download_location=SpdxNoAssertion(),
            version=version,
            files_analyzed=False,
            license_concluded=spdx_licensing.parse(license_),
            license_declared=spdx_licensing.parse(license_),
            checksums=[
                Checksum(ChecksumAlgorithm.SHA256, hashlib.sha256(purl.encode()).hexdigest())
            ],
            primary_package_purpose=purpose,
            external_references=[
                ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl)
            ],
        )

    app = package("app", f"pkg:maven/com.example/shop@{release}", "MIT", PackagePurpose.APPLICATION)
    deps = [
        package("log4j", f"{LOG4J}@{log4j}", "Apache-2.0", PackagePurpose.LIBRARY),
        package(
            "jetty",
            "pkg:maven/org.eclipse.jetty/jetty-server@11.0.20",
            "EPL-2.0",
            PackagePurpose.LIBRARY,
        ),
    ]
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"shop-{release}",
        document_namespace=f"https://example.com/spdx/shop-{release}",
        creators=[Actor(ActorType.TOOL, "chainproof-e2e")],
        created=datetime(2026, 12, 7, 12, 0),  # spdx-tools writes a naive time as UTC
    )
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-app")]
    relationships += [
        Relationship("SPDXRef-app", RelationshipType.DEPENDS_ON, dep.spdx_id) for dep in deps
    ]
    out = path / f"shop-{release}.spdx.json"
    write_file(Document(info, packages=[app, *deps], relationships=relationships), str(out))
    return out


def _ours(cli: Cli, runs: list[str], *args: str) -> list[dict[str, Any]]:
    """A search's hits in ``runs`` (the module's other test pushes beside them)."""
    found = cli.json("component", "search", *args)
    assert isinstance(found, list)
    return [c for c in found if c["run"]["id"] in runs]


def test_an_spdx_tools_document_is_searchable_by_purl_range_and_license(
    indexing_server: Server, tmp_path: Path
) -> None:
    cli = cli_for(indexing_server, tmp_path)
    contract = tmp_path / "contract.yaml"
    contract.write_text(SPDX_CONTRACT)
    cli("project", "create", "--name", "store")
    cli("workflow", "contract", "create", "--name", "store-release", "-f", str(contract))
    cli(
        "workflow", "create", "--name", "build", "--project", "store", "--contract", "store-release"
    )
    robot = cli.json("api-token", "create", "--name", "store-ci", "--project", "store")
    assert isinstance(robot, dict)
    runs: list[str] = []
    sboms: list[str] = []
    images: list[str] = []
    for release, log4j in (("1.0.0", "2.14.1"), ("1.1.0", "2.17.1")):  # the fix ships in 1.1.0
        sbom = _spdx_sbom(tmp_path, release, log4j)
        image = "sha256:" + hashlib.sha256(release.encode()).hexdigest()
        token = str(robot["token"])
        cli("attestation", "init", "--workflow", "build", "--project", "store", token=token)
        cli("attestation", "add", "--name", "sbom", "--value", str(sbom), token=token)
        cli(
            "attestation",
            "add",
            "--name",
            "image",
            "--value",
            f"registry.example.com/store@{image}",
            token=token,
        )
        cli("attestation", "push", token=token)
        listed = cli.json("workflow", "run", "list", "--project", "store")
        assert isinstance(listed, list)
        runs.append(str(listed[0]["id"]))
        sboms.append("sha256:" + hashlib.sha256(sbom.read_bytes()).hexdigest())
        images.append(image)
    old, new = runs

    by_purl = _until_found(cli, "--purl", f"{LOG4J}@2.14.1")
    assert [(c["run"]["id"], c["version"], c["sbom_digest"]) for c in by_purl] == [
        (old, "2.14.1", sboms[0])
    ]
    assert by_purl[0]["licenses"] == ["Apache-2.0"]
    assert by_purl[0]["type"] == "library"
    assert by_purl[0]["hashes"] == [
        "sha256:" + hashlib.sha256(f"{LOG4J}@2.14.1".encode()).hexdigest()
    ]
    assert [i["digest"] for i in by_purl[0]["images"]] == [images[0]]
    _until_found(cli, "--purl", f"{LOG4J}@2.17.1")  # the second push is indexed too
    every = _ours(cli, runs, "--purl", LOG4J)
    assert [(c["run"]["id"], c["version"]) for c in every] == [(new, "2.17.1"), (old, "2.14.1")]

    vulnerable = _ours(cli, runs, "--name", "log4j-core", "--version", ">=2.0,<2.17.1")
    assert [c["run"]["id"] for c in vulnerable] == [old]
    shipping = "--name", "log4j-core", "--version", ">=2.0,<2.17.1", "--latest"
    assert _ours(cli, runs, *shipping) == []  # 1.1.0 is the workflow's latest run

    epl = _ours(cli, runs, "--license", "epl-2.0")
    assert [(c["name"], c["run"]["id"]) for c in epl] == [
        ("jetty-server", new),
        ("jetty-server", old),
    ]
    mit = _ours(cli, runs, "--license", "MIT", "--latest")
    assert [(c["purl"], c["run"]["id"]) for c in mit] == [("pkg:maven/com.example/shop@1.1.0", new)]

    tree = cli.json("discover", images[0])
    assert isinstance(tree, dict)
    assert (tree["kind"], [r["id"] for r in tree["runs"]]) == ("CONTAINER_IMAGE", [old])
    refs = {(r["kind"], r["digest"]) for r in tree["runs"][0]["references"]}
    assert ("SBOM_SPDX_JSON", sboms[0]) in refs
    from_sbom = cli.json("discover", sboms[0])
    assert isinstance(from_sbom, dict)
    assert (from_sbom["kind"], from_sbom["names"]) == ("SBOM_SPDX_JSON", ["sbom"])
    assert [(r["id"], r["roles"]) for r in from_sbom["runs"]] == [(old, ["material"])]
    back = {(r["kind"], r["digest"]) for r in from_sbom["runs"][0]["references"]}
    assert ("CONTAINER_IMAGE", images[0]) in back and ("SBOM_SPDX_JSON", sboms[1]) not in back

    refused = cli("discover", "nope", check=False)
    assert refused.returncode == 2
    assert "not a digest: 'nope'" in refused.stderr
