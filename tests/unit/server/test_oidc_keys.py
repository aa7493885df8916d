"""The CI issuers' signing keys (server/support/oidc.py): fetched through discovery, cached,
refetched once on an unknown key id, never hammered by forged key ids. No server: the
issuer is an httpx.MockTransport and the clock is a number the test moves."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from tests.oidc_provider import SigningKey, new_key

from chainproof.errors import ServiceError, Unauthorized
from chainproof.server.support.oidc import REFETCH_GAP_SECONDS, JwksCache

ISSUER = "https://issuer.example"


class Issuer:
    def __init__(self) -> None:
        self.keys = [new_key()]
        self.fetches = 0
        self.discovery_issuer = ISSUER

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            doc = {"issuer": self.discovery_issuer, "jwks_uri": f"{ISSUER}/keys"}
            return httpx.Response(200, json=doc)
        self.fetches += 1
        return httpx.Response(200, json={"keys": [k.public_jwk() for k in self.keys]})

    def mint(self, key: SigningKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": "chainproof", "iat": now, "exp": now + 60, **claims}
        signer = key or self.keys[0]
        return jwt.encode(payload, signer.key, algorithm="RS256", headers={"kid": signer.kid})


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


def _cache(issuer: Issuer, clock: list[float]) -> JwksCache:
    return JwksCache(clock=lambda: clock[0], transport=httpx.MockTransport(issuer.handle))


def test_keys_are_cached_and_refetched_once_for_a_rotated_key(issuer: Issuer) -> None:
    clock = [100.0]
    cache = _cache(issuer, clock)
    verify = {"issuer": ISSUER, "audiences": {"chainproof"}}
    assert cache.verify(issuer.mint(sub="a"), **verify)["sub"] == "a"
    cache.verify(issuer.mint(sub="b"), **verify)
    assert issuer.fetches == 1

    issuer.keys = [new_key()]
    assert cache.verify(issuer.mint(sub="c"), **verify)["sub"] == "c"
    assert issuer.fetches == 2

    forged = issuer.mint(key=new_key())
    with pytest.raises(Unauthorized, match="does not publish"):
        cache.verify(forged, **verify)
    with pytest.raises(Unauthorized, match="does not publish"):
        cache.verify(forged, **verify)
    assert issuer.fetches == 2  # the refetch gap holds back forged key ids
    clock[0] += REFETCH_GAP_SECONDS
    with pytest.raises(Unauthorized):
        cache.verify(forged, **verify)
    assert issuer.fetches == 3


def test_tokens_without_an_asymmetric_signature_are_refused(issuer: Issuer) -> None:
    cache = _cache(issuer, [0.0])
    unsigned = jwt.encode({"iss": ISSUER}, None, algorithm="none")
    with pytest.raises(Unauthorized, match="algorithm 'none'"):
        cache.verify(unsigned, issuer=ISSUER, audiences={"chainproof"})
    shared = jwt.encode({"iss": ISSUER}, "s" * 32, algorithm="HS256")
    with pytest.raises(Unauthorized, match="algorithm 'HS256'"):
        cache.verify(shared, issuer=ISSUER, audiences={"chainproof"})
    assert issuer.fetches == 0


def test_a_discovery_document_for_another_issuer_is_refused(issuer: Issuer) -> None:
    issuer.discovery_issuer = "https://elsewhere.example"
    with pytest.raises(ServiceError, match=r"names issuer 'https://elsewhere\.example'"):
        _cache(issuer, [0.0]).verify(issuer.mint(), issuer=ISSUER, audiences={"chainproof"})
