"""Replays of exchanged OIDC ID tokens (docs/ci-identity.md, "Replays").

An ID token is a bearer credential that lives minutes: whoever copies it from a job's log or
environment could exchange it again. Each exchange is recorded under the token's ``jti`` (or,
without one, a hash of the whole token) until the token expires, and a second exchange is
refused, with one exception: GitLab gives a job a single ID token, and a later ``chainproof``
step of that job that lost the kept exchanged token (``--remote-state`` across containers, or a
job that outlived the token) must be able to go on. Such a step names the run it continues;
the server answers when that is the run the first exchange's token started, with a token bound
to that run alone (it starts no run and reads no other). A replay aimed at a new run, or at
another run, is refused.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, delete, select, update
from sqlalchemy.orm import Session

from chainproof.errors import Unauthorized
from chainproof.server.db import ApiToken, CiTokenUse
from chainproof.server.db.inserts import insert_if_absent
from chainproof.server.support.oidc import LEEWAY_SECONDS

#: Expired exchanged tokens are deleted this long after expiry, so that a job that presents
#: one just after it ran out still hears "expired" rather than "invalid".
TOKEN_GRACE = timedelta(hours=1)
_REPLAY_HINT = (
    "each CI job exchanges its own ID token once; a later step of the same job names its "
    "run (--attestation-id, or the attestation state file)"
)


def use_key(issuer: str, claims: dict[str, Any], id_token: str) -> str:
    """What identifies one ID token: its issuer and ``jti``, else the token's bytes."""
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        material = f"jti\n{issuer}\n{jti}"
    else:
        material = f"token\n{id_token}"
    return hashlib.sha256(material.encode()).hexdigest()


def admit(
    session: Session,
    org_id: str,
    key: str,
    claims: dict[str, Any],
    run_id: str | None,
    now: datetime,
) -> str | None:
    """None for a first exchange (now recorded); the run to bind the new token to when the
    token comes back for the run its first exchange started; Unauthorized for a replay."""
    exp = claims.get("exp")
    expires = (
        datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else now
    ) + timedelta(seconds=LEEWAY_SECONDS)
    values = {"org_id": org_id, "key_hash": key, "expires_at": expires, "created_at": now}
    if insert_if_absent(session, CiTokenUse, **values):
        return None
    first = _use(session, org_id, key)
    if run_id and first.run_id == run_id:
        return run_id
    if run_id:
        raise Unauthorized(
            f"this ID token was already exchanged, and not for run {run_id}",
            hint=_REPLAY_HINT,
        )
    raise Unauthorized("this ID token was already exchanged", hint=_REPLAY_HINT)


def remember_token(session: Session, org_id: str, key: str, token_id: str) -> None:
    """Record which token a first exchange made (its runs bind later re-exchanges)."""
    _use(session, org_id, key).token_id = token_id


def run_started(session: Session, token_id: str, run_id: str) -> None:
    """A token a first exchange made started ``run_id``: the run a re-exchange may resume
    (the latest: ``init --replace`` moves the job on to a new run)."""
    session.execute(update(CiTokenUse).where(CiTokenUse.token_id == token_id).values(run_id=run_id))


def cleanup(session: Session, now: datetime) -> int:
    """Delete what expired: ID-token records past their token's expiry and exchanged CI
    tokens past theirs (plus :data:`TOKEN_GRACE`); the number of tokens deleted. The audit
    trail keeps naming their actions (``services.audit``: the exchange event)."""
    session.execute(delete(CiTokenUse).where(CiTokenUse.expires_at <= now))
    gone = session.execute(
        delete(ApiToken)
        .where(
            exchanged(),
            ApiToken.expires_at.is_not(None),
            ApiToken.expires_at <= now - TOKEN_GRACE,
        )
        .returning(ApiToken.id)
    )
    return len(gone.all())


def exchanged() -> ColumnElement[bool]:
    """Tokens made by an exchange: those that carry a CI identity. Other tokens hold SQL NULL
    or, written by the ORM, JSON ``null`` (hence the text comparison, the same on SQLite and
    PostgreSQL)."""
    return and_(
        ApiToken.kind == "robot",
        ApiToken.ci_identity.is_not(None),
        cast(ApiToken.ci_identity, Text) != "null",
    )


def _use(session: Session, org_id: str, key: str) -> CiTokenUse:
    row = session.scalar(
        select(CiTokenUse).where(CiTokenUse.org_id == org_id, CiTokenUse.key_hash == key)
    )
    assert row is not None  # inserted by this exchange or an earlier one
    return row
