"""`chainproof verify` in-process: root sources, exit codes, -o json."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app
from chainproof.signing.ca import CertificateAuthority, identity_uri
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.trust import trusted_root_json

URI = identity_uri("acme", "shop", "build", "run-1")
STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "x", "digest": {"sha256": "0" * 64}}],
    "predicateType": "https://chainproof.dev/attestation/v1",
    "predicate": {"workflow": {"runID": "run-1"}},
}


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("acme")


@pytest.fixture
def files(ca: CertificateAuthority, tmp_path: Path) -> tuple[Path, Path]:
    signer = EphemeralSigner()
    bundle = signer.sign(STATEMENT, ca.issue(signer.csr(URI), identity_uri=URI))
    (tmp_path / "b.json").write_text(bundle.to_json())
    root = trusted_root_json([ca.cert_pem], start=ca.certificate.not_valid_before_utc)
    (tmp_path / "root.json").write_text(json.dumps(root))
    return tmp_path / "b.json", tmp_path / "root.json"


def _run(*args: str, transport: httpx.MockTransport | None = None) -> object:
    return CliRunner().invoke(app, list(args), obj=CliContext(transport=transport), env={})


def test_verifies_with_a_root_file(files: tuple[Path, Path]) -> None:
    bundle, root = files
    result = _run("verify", str(bundle), "--trusted-root", str(root), "-o", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert report["verified"] is True and report["identity"] == URI
    table = _run("verify", str(bundle), "--trusted-root", str(root))
    assert "Verified" in table.stdout and URI[:30] in table.stdout  # type: ignore[attr-defined]


def test_wrong_identity_exits_1_naming_the_check(files: tuple[Path, Path]) -> None:
    bundle, root = files
    result = _run(
        "verify", str(bundle), "--trusted-root", str(root), "--certificate-identity", "nope"
    )
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "Error: identity check failed" in result.stderr  # type: ignore[attr-defined]


def test_fetches_the_org_root_from_the_control_plane(files: tuple[Path, Path]) -> None:
    bundle, root = files
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=json.loads(root.read_text()))

    result = _run(
        "--url", "http://cp.test", "--token", "cp_x", "verify", str(bundle),
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert seen == ["/api/v1/trust/root"]


def test_no_root_and_no_url_is_a_usage_error(files: tuple[Path, Path]) -> None:
    bundle, root = files
    result = _run("verify", str(bundle))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "no control plane URL" in result.stderr  # type: ignore[attr-defined]
    both = _run("verify", str(bundle), "--trusted-root", str(root), "--public-good")
    assert both.exit_code == 2  # type: ignore[attr-defined]


def test_public_good_needs_an_identity(files: tuple[Path, Path]) -> None:
    bundle, _ = files
    result = _run("verify", str(bundle), "--public-good")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "--certificate-identity" in result.stderr  # type: ignore[attr-defined]


CHAINLOOP_ASSETS = Path(__file__).resolve().parents[2] / "assets" / "chainloop"


def test_ca_verifies_a_real_chainloop_bundle_without_a_control_plane() -> None:
    bundle = CHAINLOOP_ASSETS / "attestation-bundle.json"
    ca_file = CHAINLOOP_ASSETS / "chainloop-dev-ca.pem"
    result = _run("verify", str(bundle), "--ca", str(ca_file))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.stdout  # type: ignore[attr-defined]
    assert "Chainloop attestation" in out
    assert "myproject-mywf rev 97" in out
    assert "missing SCA scan material" in out
    assert "checked at the certificate issue time" in out


def test_ca_refuses_a_chainloop_bundle_of_another_ca_with_exit_1() -> None:
    bundle = CHAINLOOP_ASSETS / "controlplane-bundle.json"
    ca_file = CHAINLOOP_ASSETS / "chainloop-dev-ca.pem"
    result = _run("verify", str(bundle), "--ca", str(ca_file), "-o", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert report["verified"] is False
    assert "is not a trusted CA" in report["error"]
