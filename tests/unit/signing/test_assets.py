"""A bundle signed by an earlier build keeps parsing and verifying (wire-format stability)."""

from __future__ import annotations

from pathlib import Path

from chainproof.core.bundle import Bundle
from chainproof.signing.verifier import KeyIdentity, Verifier

ASSETS = Path(__file__).parents[2] / "assets" / "signing"


def test_stored_key_signed_bundle_round_trips_byte_for_byte() -> None:
    text = (ASSETS / "key-signed.bundle.json").read_text(encoding="utf-8")
    bundle = Bundle.from_json(text)
    assert bundle.to_json() == text
    assert bundle.digest() == Bundle.from_json(text.encode()).digest()


def test_stored_key_signed_bundle_verifies() -> None:
    public_key = (ASSETS / "ed25519.pub.pem").read_bytes()
    bundle = Bundle.from_json((ASSETS / "key-signed.bundle.json").read_bytes())
    verified = Verifier(public_keys=[public_key]).verify(bundle, KeyIdentity.of_pem(public_key))
    assert verified.statement.workflow_run_id == "run-fixture"
    assert verified.identity == bundle.public_key_hint
