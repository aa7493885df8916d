"""Reading trusted roots: ours, Sigstore's public-good one, validity windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.tlog_helpers import TestLog

from chainproof.errors import InvalidInput
from chainproof.signing.ca import CertificateAuthority
from chainproof.signing.trust import TrustedRoot, Validity, trusted_root_json

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_org_root_round_trips() -> None:
    ca = CertificateAuthority.create("acme")
    log = TestLog()
    data = trusted_root_json([ca.cert_pem], start=START)
    data["tlogs"] = [log.trusted_root_entry("2026-01-01T00:00:00Z")]
    root = TrustedRoot.from_json(json.dumps(data))
    (authority,) = root.certificate_authorities
    assert authority.chain == (ca.certificate,)
    assert authority.validity == Validity(START, None)
    assert root.tlog(log.log_id) is not None and root.tlog(b"x") is None
    assert root.ctlogs == root.timestamp_authorities == ()


def test_public_good_root_is_shipped_offline() -> None:
    root = TrustedRoot.public_good()
    assert any(a.uri == "https://fulcio.sigstore.dev" for a in root.certificate_authorities)
    assert any(t.base_url == "https://rekor.sigstore.dev" for t in root.tlogs)
    assert root.ctlogs


def test_validity_is_inclusive_and_needs_a_start() -> None:
    end = datetime(2026, 2, 1, tzinfo=UTC)
    window = Validity.from_dict({"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"})
    assert window.contains(START) and window.contains(end)
    assert not window.contains(datetime(2025, 12, 31, tzinfo=UTC))
    assert not Validity.from_dict({}).contains(START)
    assert "no validity start" in Validity.from_dict(None).describe()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"mediaType": "x"}', "not a trusted root"),
        (
            b'{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",'
            b' "certificateAuthorities":'
            b' [{"certChain": {"certificates": [{"rawBytes": "AA=="}]}}]}',
            "malformed",
        ),
        (
            b'{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",'
            b' "tlogs": [{"publicKey": {}}]}',
            "no key or log ID",
        ),
    ],
)
def test_bad_roots_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        TrustedRoot.from_json(data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read the trusted root"):
        TrustedRoot.from_file(tmp_path / "nope.json")
