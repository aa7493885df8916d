"""CAS JWTs: claims, expiry, scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chainproof.cas.tokens import decode_token, mint_token
from chainproof.core.digest import Digest
from chainproof.errors import Forbidden, Unauthorized

D1 = Digest.of_bytes(b"one")
D2 = Digest.of_bytes(b"two")
S = "k" * 40
OTHER = "o" * 40


def test_upload_grant_allows_head_and_put_only() -> None:
    token, expires = mint_token(S, org="o", direction="upload", run="r")
    grant = decode_token(S, token)
    assert (grant.org, grant.direction, grant.run) == ("o", "upload", "r")
    assert expires - datetime.now(UTC) <= timedelta(minutes=10)
    grant.allow("head", D1)
    grant.allow("put", D2)
    with pytest.raises(Forbidden):
        grant.allow("get", D1)


def test_download_grant_is_for_one_digest() -> None:
    grant = decode_token(S, mint_token(S, org="o", direction="download", digest=D1)[0])
    grant.allow("get", D1)
    grant.allow("head", D1)
    with pytest.raises(Forbidden):
        grant.allow("get", D2)
    with pytest.raises(Forbidden):
        grant.allow("put", D1)


def test_ttl_capped_and_expired_or_forged_refused() -> None:
    _, expires = mint_token(S, org="o", direction="upload", ttl=timedelta(hours=5))
    assert expires - datetime.now(UTC) <= timedelta(minutes=10, seconds=1)
    old = datetime.now(UTC) - timedelta(hours=1)
    expired, _ = mint_token(S, org="o", direction="upload", now=old)
    with pytest.raises(Unauthorized):
        decode_token(S, expired)
    token, _ = mint_token(S, org="o", direction="upload")
    with pytest.raises(Unauthorized):
        decode_token(OTHER, token)


def test_backend_claim_names_the_backend() -> None:
    grant = decode_token(S, mint_token(S, org="o", direction="upload", backend="b-1")[0])
    assert grant.backend == "b-1"
    assert decode_token(S, mint_token(S, org="o", direction="upload")[0]).backend == "embedded"
    # A token without a backend claim (forged with the key, or from an old server) is refused.
    import jwt

    legacy = jwt.encode(
        {"org": "o", "dir": "upload", "aud": "chainproof-cas", "exp": 2**33}, S, "HS256"
    )
    with pytest.raises(Unauthorized):
        decode_token(S, legacy)
