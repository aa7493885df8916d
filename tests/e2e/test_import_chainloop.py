"""`chainproof import chainloop` through the installed CLI against a real server: a Chainloop
export (real Chainloop bundles, and one signed here by a Chainloop-shaped CA whose material's
blob the export holds) is verified against the CAs it names, recorded once, its blob uploaded
once, and the bundle read back still verifies (issue 21)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from tests.chainloop_bundles import ASSETS, CHAINLOOP_CA, ChainloopCA, real_bundle, statement_of
from tests.e2e.conftest import Cli

SBOM = Path(__file__).resolve().parents[1] / "assets" / "materials" / "sboms" / "cdxgen-1.7.json"


def _export(tmp: Path) -> tuple[Path, Path]:
    """bundles/ (two real ones, one of an unpublished CA, one signed here) and cas/."""
    root = tmp / "export"
    (root / "bundles").mkdir(parents=True)
    (root / "cas").mkdir()
    for name in ("attestation-bundle.json", "controlplane-bundle.json"):
        shutil.copy(ASSETS / name, root / "bundles" / name)
    sbom = SBOM.read_bytes()
    digest = hashlib.sha256(sbom).hexdigest()
    (root / "cas" / f"sha256:{digest}").write_bytes(sbom)
    statement = statement_of(real_bundle("attestation-bundle.json"))
    statement["predicate"]["metadata"].update(
        name="release", workflowRunID="1a0e0c8e-7b1d-4d1b-9c7c-1f1b0e6a5d2c"
    )
    statement["predicate"]["materials"] = [
        {
            "annotations": {
                "chainloop.material.cas": True,
                "chainloop.material.name": "sbom",
                "chainloop.material.type": "SBOM_CYCLONEDX_JSON",
            },
            "digest": {"sha256": digest},
            "name": "sbom.cdx.json",
        }
    ]
    ca = ChainloopCA()
    (root / "bundles" / "signed-here.json").write_text(
        json.dumps(ca.sign(statement, reencode=True))
    )
    (tmp / "test-ca.pem").write_bytes(ca.pem())
    return root, tmp / "test-ca.pem"


def _rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["bundle"]: row for row in report["bundles"]}


def test_import_a_chainloop_export_once_and_read_it_back(cli: Cli, tmp_path: Path) -> None:
    export, test_ca = _export(tmp_path)
    cas = ("--ca", str(CHAINLOOP_CA), "--ca", str(test_ca))
    first = cli("import", "chainloop", str(export), *cas, "-o", "json", check=False)
    assert first.returncode == 1, first.stderr  # one bundle's CA was not given
    report = json.loads(first.stdout)
    assert (report["imported"], report["already_imported"], report["failed"]) == (2, 0, 1)
    assert report["uploaded_blobs"] == 1
    rows = _rows(report)
    assert "is not a trusted CA" in rows["controlplane-bundle.json"]["error"]
    real = rows["attestation-bundle.json"]
    assert (real["project"], real["workflow"], real["missing_blobs"]) == (
        "myproject",
        "mywf",
        ["sha256:a87aa51698e32d770c2214ffec79eb7bdde31cdfd7f2135f81d3e958834dbda5"],
    )
    ours = rows["signed-here.json"]
    assert (ours["workflow"], ours["uploaded"], ours["missing_blobs"]) == ("release", 1, [])

    again = cli("import", "chainloop", str(export), *cas, check=False)
    assert again.returncode == 1
    assert "0 imported, 2 already imported, 1 failed, 0 blob(s) uploaded" in again.stdout
    assert "[3/3]" in again.stderr  # progress, one line per bundle

    runs = cli.json("workflow", "run", "list", "--project", "myproject")
    assert sorted(r["workflow"] for r in runs) == ["mywf", "release"]  # type: ignore[union-attr]
    described = cli.json("workflow", "run", "describe", "--id", ours["run_id"])
    [material] = described["materials"]  # type: ignore[index]
    assert material["uploaded"] is True
    got = tmp_path / "got.json"
    cli("artifact", "download", material["digest"], "--to", str(got))
    assert got.read_bytes() == SBOM.read_bytes()
    ours_bundle = tmp_path / "ours.json"
    ours_bundle.write_text(
        cli("workflow", "run", "describe", "--id", ours["run_id"], "-o", "bundle").stdout
    )
    checked = cli.json("verify", str(ours_bundle), "--ca", str(test_ca), "--cas")
    assert checked["materials"][0]["result"] == "matches the CAS blob"  # type: ignore[index]

    described = cli.json("workflow", "run", "describe", "--id", real["run_id"], "--verify")
    local = described["local_verification"]  # type: ignore[index]
    assert local["verified"] is True, local
    assert "chain to the Chainloop CA recorded at import" in local["checks"][0]["detail"]
    [evaluation] = described["policy_evaluations"]  # type: ignore[index]
    assert (evaluation["name"], evaluation["source"]) == ("vulnerability-scan-present", "chainloop")

    bundle = tmp_path / "stored.json"
    stored = cli("workflow", "run", "describe", "--id", real["run_id"], "-o", "bundle").stdout
    bundle.write_text(stored)
    verified = cli.json("verify", str(bundle), "--ca", str(CHAINLOOP_CA))
    assert verified["chainloop"]["workflow"]["runID"] == (  # type: ignore[index]
        "e1ca13ca-9b8a-4c68-b176-0f76b219ab55"
    )


def test_import_refuses_without_a_ca_and_with_no_bundles(cli: Cli, tmp_path: Path) -> None:
    no_ca = cli("import", "chainloop", str(tmp_path), check=False)
    assert no_ca.returncode == 2
    empty = cli("import", "chainloop", str(tmp_path), "--ca", str(CHAINLOOP_CA), check=False)
    assert empty.returncode == 2
    assert "no bundle" in empty.stderr


def test_import_by_a_robot_stops_at_once_with_exit_3(cli: Cli, tmp_path: Path) -> None:
    export, test_ca = _export(tmp_path)
    robot = cli.json("api-token", "create", "--name", "importer")
    assert isinstance(robot, dict)
    refused = cli(
        "import", "chainloop", str(export), "--ca", str(CHAINLOOP_CA), "--ca", str(test_ca),
        token=str(robot["token"]), check=False,
    )  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    assert "owner or admin" in refused.stderr
    assert "[1/3]" not in refused.stderr  # the first bundle's refusal ends the import
