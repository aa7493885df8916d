"""Hostile evidence through the installed CLI: `attestation add` answers a clear error and
exit code 2, never a traceback, for an archive using one path as a file and a directory, a
100k-deep JSON document and an SBOM that repeats a key."""

from __future__ import annotations

import subprocess
import warnings
import zipfile
from pathlib import Path

import pytest
from tests.e2e.conftest import Cli

ASSETS = Path(__file__).parent.parent / "assets"
SBOM = ASSETS / "materials" / "cyclonedx-1.6.json"
DEEP = "[" * 100_000 + "]" * 100_000


def _init(cli: Cli, project: str) -> None:
    contract = str(ASSETS / "e2e" / "contract.yaml")
    cli("attestation", "init", "--workflow", "build", "--project", project, "--contract", contract)


def _refused(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("Error: ")
    for needle in needles:
        assert needle in proc.stderr


@pytest.mark.parametrize("first", ["a.cdx.json", "a.cdx.json/b.cdx.json"])
def test_an_archive_using_a_path_as_file_and_directory(
    cli: Cli, tmp_path: Path, first: str
) -> None:
    archive = tmp_path / "sboms.zip"
    other = "a.cdx.json" if first != "a.cdx.json" else "a.cdx.json/b.cdx.json"
    with zipfile.ZipFile(archive, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zf.write(SBOM, first)
        zf.write(SBOM, other)
    _init(cli, f"zip-{len(first)}")
    proc = cli("attestation", "add", "--name", "sbom", "--value", str(archive), check=False)
    _refused(proc, "'a.cdx.json' is both a file and a directory")


@pytest.mark.parametrize("named", [True, False])
def test_a_deeply_nested_json_document(cli: Cli, tmp_path: Path, named: bool) -> None:
    doc = tmp_path / "deep.json"
    doc.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ' + DEEP + "}")
    _init(cli, f"deep-{named}")
    name = ["--name", "sbom"] if named else []
    proc = cli("attestation", "add", *name, "--value", str(doc), check=False)
    _refused(proc, "deep.json", "nested too deeply")


def test_an_sbom_that_repeats_a_key(cli: Cli, tmp_path: Path) -> None:
    text = SBOM.read_text(encoding="utf-8")
    at = text.index('"specVersion"')
    doc = tmp_path / "dup.cdx.json"
    doc.write_text(text[:at] + '"specVersion": "1.2", ' + text[at:], encoding="utf-8")
    _init(cli, "dup")
    proc = cli("attestation", "add", "--name", "sbom", "--value", str(doc), check=False)
    _refused(proc, "dup.cdx.json", 'duplicate key "specVersion"')
