"""Evidence from URLs and archives, through the installed CLI."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import Cli

ASSETS = Path(__file__).parent.parent / "assets"
SBOMS = [ASSETS / "materials" / "cyclonedx-1.6.json", ASSETS / "materials" / "cyclonedx-1.5.json"]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on loopback, serving ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def _init(cli: Cli, project: str) -> None:
    cli(
        "attestation",
        "init",
        "--workflow",
        "build",
        "--project",
        project,
        "--contract",
        str(ASSETS / "e2e" / "contract.yaml"),
    )


def test_value_may_be_a_url(cli: Cli, web: tuple[str, Path]) -> None:
    base, root = web
    shutil.copy(SBOMS[0], root / "bom.json")
    _init(cli, "urlp")
    added = cli.json("attestation", "add", "--name", "sbom", "--value", f"{base}/bom.json")
    assert isinstance(added, dict)
    assert added["filename"] == "bom.json" and added["size"] == SBOMS[0].stat().st_size
    missing = cli(
        "attestation", "add", "--name", "sbom", "--value", f"{base}/nope.json", check=False
    )
    assert missing.returncode == 2 and "404" in missing.stderr


def test_archive_of_sboms_is_exploded_atomically(cli: Cli, tmp_path: Path) -> None:
    archive = tmp_path / "sboms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for sbom in SBOMS:
            zf.write(sbom, sbom.name)
    _init(cli, "zipp")
    added = cli.json("attestation", "add", "--name", "sbom", "--value", str(archive))
    assert isinstance(added, dict)
    assert added["name"] == "sbom" and [m["name"] for m in added["also_added"]] == ["sbom-1"]
    status = cli.json("attestation", "status")
    assert isinstance(status, dict)
    assert [m["name"] for m in status["extra_materials"]] == ["sbom-1"]

    # One bad document: nothing from the archive is recorded.
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.write(SBOMS[0], "good.json")
        zf.writestr(
            "zz-bad.json",
            '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "nope"}]}',
        )
    proc = cli("attestation", "add", "--name", "sbom", "--value", str(bad), check=False)
    assert proc.returncode == 2 and "CycloneDX" in proc.stderr
    after = cli.json("attestation", "status")
    assert isinstance(after, dict)
    assert [m["name"] for m in after["extra_materials"]] == ["sbom-1"]


DETECTED = [
    (ASSETS / "materials" / "vex" / "csaf-vex-acme-2024-0042.json", "CSAF_VEX"),
    (ASSETS / "materials" / "vex" / "openvex-acme-appliance.json", "OPENVEX"),
    (ASSETS / "materials" / "specs" / "petstore-openapi-3.0.yaml", "OPENAPI_SPEC"),
    (ASSETS / "materials" / "specs" / "bookstore.graphql", "GRAPHQL_SPEC"),
    (ASSETS / "materials" / "scanners" / "scorecard-v5.json", "OSSF_SCORECARD_JSON"),
    (ASSETS / "materials" / "sboms" / "cyclonedx-py-1.5.xml", "SBOM_CYCLONEDX_XML"),
    (ASSETS / "materials" / "secrets" / "gitleaks.json", "GITLEAKS_JSON"),
]


def test_materials_without_a_name_are_detected_and_their_summaries_signed(cli: Cli) -> None:
    """Without --name the kind is detected from the content; a kind the contract has fills
    its slot, others become extra materials named after their files. Each kind's summary
    travels in the signed statement to the server."""
    _init(cli, "kinds")
    names = {}
    for path, kind in DETECTED:
        added = cli.json("attestation", "add", "--value", str(path))
        assert isinstance(added, dict) and added["kind"] == kind, (path, added)
        assert added["summary"], path
        assert added["name"] == path.name.split(".")[0]
        names[added["name"]] = kind
    added = cli.json("attestation", "add", "--value", str(SBOMS[0]))
    assert isinstance(added, dict) and added["name"] == "sbom"  # the contract's SBOM slot
    again = cli.json("attestation", "add", "--value", str(DETECTED[0][0]))
    assert isinstance(again, dict) and again["name"] == "csaf-vex-acme-2024-0042-2"
    image = "registry.example.com/a@sha256:" + "c" * 64
    cli("attestation", "add", "--name", "image", "--value", image)
    cli("attestation", "add", "--name", "version", "--value", "1.0.0")
    cli("attestation", "push")
    runs = cli.json("workflow", "run", "list", "--project", "kinds")
    assert isinstance(runs, list)
    statement = json.loads(
        cli("workflow", "run", "describe", "--id", runs[0]["id"], "-o", "statement").stdout
    )
    recorded = {m["name"]: m["annotations"] for m in statement["predicate"]["materials"]}
    for name, kind in names.items():
        assert recorded[name]["chainproof.material.kind"] == kind
        assert json.loads(recorded[name]["chainproof.material.summary"])
