"""Short-lived CAS tokens: HS256 JWTs minted by the control plane (docs/api.md, CAS).

Claims: ``org`` (organisation id), ``backend`` (the id of the organisation's CAS backend the
token may use, or ``embedded`` for the server's own filesystem store), ``dir`` (``upload`` |
``download``), ``digest`` (downloads), ``run`` (uploads), ``exp`` (at most 10 minutes ahead).
A run-less upload token (``artifact upload``) has no ``run`` but names its uploader (``sub``,
the API token's id) and, when it has one, the project the upload is filed under (``prj``):
the CAS records them so that the uploader can download the blob later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from chainproof.core.digest import Digest
from chainproof.errors import Forbidden, InvalidInput, Unauthorized

__all__ = ["EMBEDDED", "INLINE", "MAX_TTL", "CasGrant", "decode_token", "mint_token"]

#: The ``backend`` claim naming the server's own filesystem store (no configured backend).
EMBEDDED = "embedded"
#: The ``backend`` claim of a download served from a run's stored statement (inline material).
INLINE = "inline"
MAX_TTL = timedelta(minutes=10)
_ALG = "HS256"
_AUDIENCE = "chainproof-cas"


@dataclass(frozen=True)
class CasGrant:
    """What a valid CAS token allows."""

    org: str
    direction: str
    digest: Digest | None = None
    run: str | None = None
    backend: str = EMBEDDED
    uploader: str | None = None
    project: str | None = None

    @property
    def runless(self) -> bool:
        """An upload outside any run, whose uploader the CAS records."""
        return self.direction == "upload" and self.run is None and self.uploader is not None

    @property
    def recorded(self) -> bool:
        """An upload whose uploader the CAS records (a run, or a run-less uploader): it must
        prove it holds the bytes even when the organisation already stores them."""
        return self.direction == "upload" and (self.run is not None or self.uploader is not None)

    def allow(self, operation: str, digest: Digest | None) -> None:
        """Raise Forbidden unless this grant covers ``operation`` (head|put|get) on ``digest``.

        An upload grant may ask whether a blob exists (HEAD) before sending it, and may send a
        blob whose digest follows its bytes (None); a download grant covers HEAD and GET of
        its one digest.
        """
        if self.direction == "upload":
            if operation not in ("head", "put"):
                raise Forbidden("this CAS token allows uploads, not downloads")
            return
        if operation == "put":
            raise Forbidden("this CAS token allows downloads, not uploads")
        if self.digest != digest:
            raise Forbidden("this CAS token is for another digest")


def mint_token(
    secret: str,
    *,
    org: str,
    direction: str,
    backend: str = EMBEDDED,
    digest: Digest | None = None,
    run: str | None = None,
    uploader: str | None = None,
    project: str | None = None,
    ttl: timedelta = MAX_TTL,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A signed token for ``backend`` of ``org`` and its expiry time."""
    if not backend:
        raise InvalidInput("a CAS token names its backend")
    if direction not in ("upload", "download"):
        raise InvalidInput(f"unknown CAS direction {direction!r}", hint="upload or download")
    issued = now or datetime.now(UTC)
    expires = issued + min(ttl, MAX_TTL)
    claims: dict[str, Any] = {
        "org": org,
        "backend": backend,
        "dir": direction,
        "aud": _AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    if digest is not None:
        claims["digest"] = str(digest)
    if run is not None:
        claims["run"] = run
    if uploader is not None:
        claims["sub"] = uploader
    if project is not None:
        claims["prj"] = project
    return jwt.encode(claims, secret, algorithm=_ALG), expires


def decode_token(secret: str, token: str) -> CasGrant:
    """Check signature and expiry; raise Unauthorized on any problem."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALG],
            audience=_AUDIENCE,
            options={"require": ["exp", "org", "dir", "backend"]},
        )
    except jwt.PyJWTError as err:
        raise Unauthorized(f"invalid CAS token: {type(err).__name__}") from None
    direction = str(claims["dir"])
    if direction not in ("upload", "download"):
        raise Unauthorized("invalid CAS token: unknown direction")
    raw_digest = claims.get("digest")
    try:
        digest = Digest.parse(str(raw_digest)) if raw_digest else None
    except InvalidInput:
        raise Unauthorized("invalid CAS token: bad digest claim") from None
    if direction == "download" and digest is None:
        raise Unauthorized("invalid CAS token: a download token names its digest")
    run = claims.get("run")
    backend = str(claims["backend"])
    if not backend:
        raise Unauthorized("invalid CAS token: empty backend claim")
    return CasGrant(
        org=str(claims["org"]),
        direction=direction,
        digest=digest,
        run=str(run) if run else None,
        backend=backend,
        uploader=str(claims["sub"]) if claims.get("sub") else None,
        project=str(claims["prj"]) if claims.get("prj") else None,
    )
