"""Remembered check results (signing._cache): repeats are cheap, never more lenient."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chainproof.client.verify import Artifact, verify_bundle
from chainproof.core.digest import Digest
from chainproof.errors import VerificationError
from chainproof.signing._cache import CheckCache, cache_for
from chainproof.signing.trust import TrustedRoot

VECTORS = Path(__file__).parents[2] / "conformance" / "sigstore-bundle-verify"
IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
ISSUER = "https://token.actions.githubusercontent.com"
ARTIFACT = (VECTORS / "a.txt").read_bytes()


def _verify(root: TrustedRoot, bundle: bytes, now: datetime | None = None) -> dict[str, object]:
    return verify_bundle(
        bundle,
        trusted_root=root,
        identity=IDENTITY,
        issuer=ISSUER,
        artifact=Artifact(Digest.of_bytes(ARTIFACT), ARTIFACT),
        strict_identity=True,
        now=now,
    )


def test_a_result_is_computed_once_and_a_failure_never_stored() -> None:
    cache = CheckCache(size=2)
    calls: list[str] = []

    def fail() -> int:
        calls.append("fail")
        raise VerificationError("no")

    for _ in range(2):
        with pytest.raises(VerificationError):
            cache.get("k", fail)
    assert calls == ["fail", "fail"] and len(cache) == 0
    assert cache.get("k", lambda: 1) == 1
    assert cache.get("k", lambda: 2) == 1  # remembered
    cache.get("a", lambda: 3)
    cache.get("b", lambda: 4)  # evicts "k", the least recently used
    assert len(cache) == 2 and cache.get("k", lambda: 5) == 5


def test_repeats_use_the_cache_and_tampering_still_fails() -> None:
    root = TrustedRoot.public_good()
    good = (VECTORS / "happy-path-v0.3" / "bundle.sigstore.json").read_bytes()
    _verify(root, good)
    assert len(cache_for(root)) > 0
    assert _verify(root, good)["verified"] is True
    # Same certificate, log entry and timestamps (all remembered), another signature.
    bundle = json.loads(good)
    signature = base64.b64decode(bundle["messageSignature"]["signature"])
    tampered = signature[:-1] + bytes([signature[-1] ^ 1])
    bundle["messageSignature"]["signature"] = base64.b64encode(tampered).decode()
    with pytest.raises(VerificationError, match="signature check failed"):
        _verify(root, json.dumps(bundle).encode())


def test_a_remembered_log_entry_is_rechecked_against_the_clock() -> None:
    root = TrustedRoot.public_good()
    good = (VECTORS / "happy-path-v0.3" / "bundle.sigstore.json").read_bytes()
    _verify(root, good)
    # Verified before the entry was logged: the remembered entry must not hide that.
    with pytest.raises(VerificationError, match="in the future"):
        _verify(root, good, now=datetime(2020, 1, 1, tzinfo=UTC))
