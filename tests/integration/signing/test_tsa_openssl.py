"""Our RFC 3161 tokens, checked by OpenSSL's command-line tool (a subprocess)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chainproof.signing.tsa import TimestampAuthority

NOW = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
DATA = b"the signature bytes of a bundle"


@pytest.fixture(scope="module")
def tsa() -> TimestampAuthority:
    return TimestampAuthority.create("acme", now=NOW - timedelta(days=1))


@pytest.fixture(scope="module")
def token(tsa: TimestampAuthority) -> bytes:
    return tsa.timestamp(DATA, now=NOW)


def test_token_verifies_with_openssl(tsa: TimestampAuthority, token: bytes, tmp_path: Path) -> None:
    """OpenSSL's ``ts -verify`` also checks the ESSCertIDv2 against the TSA certificate."""
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is part of the test environment"
    (tmp_path / "tsr").write_bytes(token)
    (tmp_path / "root.pem").write_bytes(tsa.chain_pem[1])
    (tmp_path / "good").write_bytes(DATA)
    (tmp_path / "bad").write_bytes(DATA + b"!")

    def run(data: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [openssl, "ts", "-verify", "-in", str(tmp_path / "tsr"), "-data",
             str(tmp_path / data), "-CAfile", str(tmp_path / "root.pem")],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip

    good = run("good")
    assert good.returncode == 0 and "Verification: OK" in good.stdout
    assert run("bad").returncode != 0
    printed = subprocess.run(
        [openssl, "asn1parse", "-inform", "DER", "-in", str(tmp_path / "tsr")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in (":contentType", ":messageDigest", "signingCertificateV2", ":id-smime-ct-TSTInfo"):
        assert name in printed
