"""Verify OIDC ID tokens of trusted issuers: discovery, JWKS cached per process, PyJWT checks.

The signing keys of an issuer are found through its discovery document
(``<issuer>/.well-known/openid-configuration`` → ``jwks_uri``) and kept for
:data:`KEYS_TTL_SECONDS`. A token signed with a key id the cached set lacks makes one refetch
(the issuer rotated its keys); further refetches forced by unknown key ids wait
:data:`REFETCH_GAP_SECONDS`, so forged key ids cannot make the server hammer an issuer.
Only issuers an organisation registered are ever fetched: the caller picks the issuer URL
from its own rows, never from the token alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from chainproof.errors import ServiceError, Unauthorized

__all__ = ["ALGORITHMS", "JwksCache", "unverified_issuer"]

KEYS_TTL_SECONDS = 600.0
REFETCH_GAP_SECONDS = 10.0
LEEWAY_SECONDS = 30
#: Asymmetric algorithms only: ``none`` and HMAC (a key the issuer shares) are refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
_MAX_DOCUMENT = 1 << 20
_HINT = "the CI job must send a fresh ID token of a trusted issuer (chainproof ci-identity list)"


def unverified_issuer(token: str) -> str:
    """The ``iss`` claim, read without verification, to pick the issuer to verify against."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"the ID token is not a JWT: {exc}", hint=_HINT) from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise Unauthorized("the ID token has no issuer (iss) claim", hint=_HINT)
    return issuer


@dataclass
class _Keys:
    keys: jwt.PyJWKSet
    fetched_at: float
    forced_at: float = float("-inf")


class JwksCache:
    """The signing keys of each issuer, shared by the threads of one server process."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._clock = clock
        self._transport = transport
        self._timeout = timeout
        self._guard = threading.Lock()
        #: One lock per issuer: a slow issuer holds up only the exchanges of its own jobs.
        self._locks: dict[str, threading.Lock] = {}
        self._by_issuer: dict[str, _Keys] = {}

    def verify(self, token: str, *, issuer: str, audiences: Collection[str]) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience (one of
        ``audiences``) and lifetime are verified; Unauthorized naming the failed check."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the ID token is not a JWT: {exc}", hint=_HINT) from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise Unauthorized(f"ID token algorithm {alg!r} is not accepted", hint=_HINT)
        key = self._key(issuer, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=list(audiences),
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the ID token has expired", hint=_HINT) from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(
                f"the ID token's audience is not one the trusted issuer expects "
                f"({', '.join(sorted(audiences))})",
                hint="request the ID token for that audience (attestation init --audience)",
            ) from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the ID token is not valid: {exc}", hint=_HINT) from None
        return claims

    def _key(self, issuer: str, kid: object) -> jwt.PyJWK:
        with self._guard:
            lock = self._locks.setdefault(issuer, threading.Lock())
        with lock:
            now = self._clock()
            entry = self._by_issuer.get(issuer)
            if entry is None or now - entry.fetched_at > KEYS_TTL_SECONDS:
                entry = self._fetch(issuer, now)
            found = _find(entry.keys, kid)
            if found is None and now - entry.forced_at >= REFETCH_GAP_SECONDS:
                entry = self._fetch(issuer, now)
                entry.forced_at = now
                found = _find(entry.keys, kid)
        if found is None:
            raise Unauthorized(
                f"the ID token was signed with key {kid!r}, which issuer {issuer} does not publish",
                hint=_HINT,
            )
        return found

    def _fetch(self, issuer: str, now: float) -> _Keys:
        with httpx.Client(
            timeout=self._timeout, transport=self._transport, follow_redirects=False
        ) as client:
            discovery = _document(client, issuer.rstrip("/") + "/.well-known/openid-configuration")
            if discovery.get("issuer") != issuer:
                raise ServiceError(
                    f"the discovery document of {issuer} names issuer {discovery.get('issuer')!r}",
                    hint="register the issuer URL exactly as its tokens' iss claim spells it",
                )
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise ServiceError(f"the discovery document of {issuer} has no jwks_uri")
            try:
                keys = jwt.PyJWKSet.from_dict(_document(client, jwks_uri))
            except jwt.PyJWTError as exc:
                raise ServiceError(f"the signing keys of {issuer} are unusable: {exc}") from None
        entry = _Keys(keys=keys, fetched_at=now)
        self._by_issuer[issuer] = entry
        return entry


def _find(keys: jwt.PyJWKSet, kid: object) -> jwt.PyJWK | None:
    for key in keys.keys:
        if key.key_id == kid:
            return key
    return None


def _document(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        reply = client.get(url)
    except httpx.HTTPError as exc:
        raise ServiceError(f"cannot fetch {url}: {exc}") from None
    if reply.status_code != 200 or len(reply.content) > _MAX_DOCUMENT:
        raise ServiceError(f"cannot fetch {url}: HTTP {reply.status_code}")
    try:
        doc = reply.json()
    except ValueError:
        raise ServiceError(f"{url} is not JSON") from None
    if not isinstance(doc, dict):
        raise ServiceError(f"{url} is not a JSON object")
    return doc
