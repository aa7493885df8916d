"""People sign in: an identity provider's ID token for a personal session (docs/identity.md).

The CLI runs the OAuth 2.0 device authorization grant against a provider the server is
configured with and posts the ID token it gets. The token is verified like a CI job's
(support.oidc: signature against the provider's JWKS, issuer, audience = the provider's client
id, lifetime); the person must have a verified email in an allowed domain. The person is found
by issuer and subject (OIDC Core §5.7), their pending invitations are accepted, and they get a
session secret (``cps_...``, stored as SHA-256) that is not bound to one organisation: each
request names the organisation (``X-Chainproof-Org``, the CLI's ``--org``) and acts with the
person's current role in it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.errors import Forbidden, InvalidInput, Unauthorized
from chainproof.server.db import Membership, Organization, User, UserSession
from chainproof.server.db.base import utcnow
from chainproof.server.identity_provider import IdentityProvider
from chainproof.server.services import audit, people, visibility
from chainproof.server.support.oidc import JwksCache, unverified_issuer
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

PREFIX = "cps_"
ORG_HEADER = "X-Chainproof-Org"
_TOUCH_EVERY = timedelta(seconds=60)
_LOGIN_HINT = "sign in again with `chainproof auth login`"


def is_session_secret(secret: str) -> bool:
    """Whether ``secret`` is a session's (else it may be an API token)."""
    return secret.startswith(PREFIX)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def provider_views(providers: Sequence[IdentityProvider]) -> list[dict[str, Any]]:
    """What the CLI needs to run the device flow: never the client secret."""
    return [{"name": p.name, "issuer": p.issuer, "client_id": p.client_id} for p in providers]


def exchange(
    session: Session,
    keys: JwksCache,
    providers: Sequence[IdentityProvider],
    *,
    id_token: str,
    lifetime_seconds: int,
    now: datetime | None = None,
) -> tuple[UserSession, str, User, list[str]]:
    """A session for the person ``id_token`` proves: (row, secret, user, organisations joined
    by invitation now). Unauthorized when the token is not a valid one of a configured
    provider; Forbidden without a verified email in an allowed domain, or without any
    membership or invitation."""
    now = now or utcnow()
    provider = _provider(providers, unverified_issuer(id_token))
    try:
        claims = keys.verify(id_token, issuer=provider.issuer, audiences={provider.client_id})
    except Unauthorized as refused:
        raise Unauthorized(refused.message, hint=_LOGIN_HINT) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("the ID token has no subject (sub) claim", hint=_LOGIN_HINT)
    email = _verified_email(claims, provider)
    user = _user(session, provider.issuer, subject, email, claims, now)
    joined = people.accept_invitations(session, user, now)
    orgs = _memberships(session, user.id)
    if not orgs:
        raise Forbidden(
            f"{email} is not a member of any organisation on this server",
            hint="ask an owner or admin to invite that address (`chainproof org invite create`)",
        )
    row, secret = open_session(session, user, provider.issuer, lifetime_seconds, now)
    for _, org in orgs:
        audit.record(session, org.id, None, "session.create", user.id, email=email)
    return row, secret, user, joined


def open_session(
    session: Session, user: User, issuer: str, lifetime_seconds: int, now: datetime
) -> tuple[UserSession, str]:
    """A new session of ``user`` and its secret (the row keeps only its hash)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=_hash(secret),
        issuer=issuer,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime_seconds),
    )
    session.add(row)
    session.flush()
    return row, secret


def _provider(providers: Sequence[IdentityProvider], issuer: str) -> IdentityProvider:
    for provider in providers:
        if provider.issuer == issuer:
            return provider
    raise Unauthorized(
        f"{issuer} is not an identity provider of this server",
        hint="sign in with a provider `chainproof auth login` offers",
    )


def _verified_email(claims: dict[str, Any], provider: IdentityProvider) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is not True:
        raise Forbidden(
            "the identity provider did not vouch for an email address (email_verified)",
            hint="verify your email address with the identity provider, then sign in again",
        )
    address = people.normal_email(email)
    if not provider.allows(address):
        domains = ", ".join(provider.allowed_email_domains)
        raise Forbidden(
            f"{address} is not in a domain allowed to sign in with {provider.name} ({domains})",
            hint="sign in with an address of an allowed domain",
        )
    return address


def _user(
    session: Session, issuer: str, subject: str, email: str, claims: dict[str, Any], now: datetime
) -> User:
    user = session.scalar(select(User).where(User.issuer == issuer, User.subject == subject))
    name = claims.get("name") if isinstance(claims.get("name"), str) else None
    if user is None:
        user = User(issuer=issuer, subject=subject, name=(name or email)[:200])
        session.add(user)
    elif name:
        user.name = name[:200]
    user.email, user.last_sign_in_at = email, now
    session.flush()
    return user


def _memberships(session: Session, user_id: str) -> list[tuple[Membership, Organization]]:
    stmt = (
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.org_id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name)
    )
    return [(m, o) for m, o in session.execute(stmt)]


def _live(session: Session, secret: str, now: datetime) -> tuple[UserSession, User]:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _hash(secret)))
    if row is None:
        raise Unauthorized("invalid session", hint=_LOGIN_HINT)
    if row.revoked_at is not None:
        raise Unauthorized("this session was signed out", hint=_LOGIN_HINT)
    if row.expires_at <= now:
        raise Unauthorized("this session has expired", hint=_LOGIN_HINT)
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    user = session.get(User, row.user_id)
    assert user is not None  # the session row cascades with its user
    return row, user


def authenticate(
    session: Session, secret: str, org: str | None, now: datetime | None = None
) -> Principal:
    """The person behind a session acting in ``org`` (their only organisation when None)
    with their current role there."""
    row, user = _live(session, secret, now or utcnow())
    orgs = _memberships(session, user.id)
    if org:
        chosen = [(m, o) for m, o in orgs if o.name == org]
        if not chosen:
            raise Forbidden(
                f"you are not a member of organisation {org!r}",
                hint="see yours with `chainproof auth whoami`",
            )
    elif len(orgs) > 1:
        names = ", ".join(o.name for _, o in orgs)
        raise InvalidInput(
            f"you belong to several organisations ({names}): name one",
            hint="pass --org or set CHAINPROOF_ORG",
        )
    else:
        chosen = orgs
    if not chosen:
        raise Forbidden("you are no longer a member of any organisation", hint=_LOGIN_HINT)
    membership, org_row = chosen[0]
    return Principal(
        org_id=org_row.id,
        org_name=org_row.name,
        token_id=None,
        token_name=user.email or user.name,
        kind="user",
        role=membership.role,
        user_id=user.id,
        session_id=row.id,
        project_roles=visibility.roles_of(session, org_row.id, user.id, membership.role),
    )


def describe(session: Session, secret: str, now: datetime | None = None) -> dict[str, Any]:
    """The person, their session and every organisation they belong to, with the role."""
    row, user = _live(session, secret, now or utcnow())
    return {
        "user": {"id": user.id, "email": user.email, "name": user.name, "issuer": user.issuer},
        "session": {"id": row.id, "expires_at": rfc3339(row.expires_at)},
        "orgs": [{"name": o.name, "role": m.role} for m, o in _memberships(session, user.id)],
    }


def sign_out(session: Session, secret: str, now: datetime | None = None) -> None:
    """Revoke the session; audited in each of the person's organisations."""
    now = now or utcnow()
    row, user = _live(session, secret, now)
    row.revoked_at = now
    for _, org in _memberships(session, user.id):
        audit.record(session, org.id, None, "session.revoke", user.id, email=user.email)


def session_view(row: UserSession, secret: str, user: User, joined: list[str]) -> dict[str, Any]:
    """The exchange's answer: the secret (only here), its expiry, the person."""
    return {
        "token": secret,
        "expires_at": rfc3339(row.expires_at),
        "user": {"id": user.id, "email": user.email, "name": user.name},
        "joined": joined,
    }
