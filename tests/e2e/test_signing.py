"""Signing from the CLI against a server process: CA rotation (issue 5)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from tests.e2e.conftest import Cli
from tests.e2e.test_attestation_flow import _craft, _setup_workflow


def _push(cli: Cli, robot: str, project: str, bundle: Path) -> None:
    _craft(cli, robot, project)
    cli("attestation", "push", "--bundle", str(bundle), token=robot)


def test_ca_rotation_keeps_old_bundles_verifying(cli: Cli, tmp_path: Path) -> None:
    robot = _setup_workflow(cli, "rot")
    before = tmp_path / "before.json"
    _push(cli, robot, "rot", before)

    (old,) = cli.json("org", "ca", "list")  # type: ignore[misc]
    assert old["status"] == "issuing"
    member_refused = cli("org", "ca", "rotate", token=robot, check=False)
    assert member_refused.returncode == 3, member_refused.stderr
    rotated = cli.json("org", "ca", "rotate")
    assert isinstance(rotated, dict) and rotated["status"] == "issuing"
    listed = cli.json("org", "ca", "list")
    assert isinstance(listed, list)
    assert [(c["id"], c["status"]) for c in listed] == [
        (rotated["id"], "issuing"),
        (old["id"], "rotated"),
    ]
    table = cli("org", "ca", "list").stdout
    assert "rotated" in table and "issuing" in table

    after = tmp_path / "after.json"
    _push(cli, robot, "rot", after)
    root = tmp_path / "root.json"
    root.write_text(json.dumps(_root(cli)))
    for bundle in (before, after):
        # against the server's current root, then against a saved copy, offline
        cli("verify", str(bundle))
        report = cli.json("verify", str(bundle), "--trusted-root", str(root))
        assert isinstance(report, dict) and report["verified"] is True
    # the first run was certified by the old CA, the second by the new one
    _leaf(before).verify_directly_issued_by(_ca(old))
    _leaf(after).verify_directly_issued_by(_ca(rotated))


def _root(cli: Cli) -> object:
    import httpx

    reply = httpx.get(
        f"{cli.env['CHAINPROOF_URL']}/api/v1/trust/root",
        headers={"Authorization": f"Bearer {cli.env['CHAINPROOF_TOKEN']}"},
    )
    reply.raise_for_status()
    return reply.json()


def _leaf(bundle: Path) -> x509.Certificate:
    data = json.loads(bundle.read_text())
    der = base64.b64decode(data["verificationMaterial"]["certificate"]["rawBytes"])
    return x509.load_der_x509_certificate(der)


def _ca(view: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(view["certificate"].encode())
