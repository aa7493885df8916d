"""API tokens: opaque secrets stored as SHA-256, user or robot, scoped, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from chainproof.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from chainproof.server.db import ApiToken, Membership, Organization, Project, User, Workflow
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit, visibility
from chainproof.server.support import pagination
from chainproof.server.support.principal import ROLE_RANK, Principal
from chainproof.server.support.times import rfc3339

PREFIX = "cp_"
_TOUCH_EVERY = timedelta(seconds=60)


def new_secret() -> str:
    """``cp_`` + 43 url-safe characters."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """What the database stores."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user_token(
    session: Session, org: Organization, user: User, role: str, name: str
) -> tuple[ApiToken, str]:
    """A user's token with ``role`` (e.g. the owner token of ``server init``)."""
    secret = new_secret()
    row = ApiToken(
        org_id=org.id,
        name=name,
        kind="user",
        role=role,
        user_id=user.id,
        token_hash=hash_secret(secret),
    )
    session.add(row)
    session.flush()
    audit.record(session, org.id, None, "token.create", row.id, kind="user", role=role)
    return row, secret


def create_robot_token(
    session: Session,
    actor: Principal,
    *,
    name: str,
    project: str | None = None,
    workflow: str | None = None,
    expires_in_seconds: int | None = None,
    policy_bypass: bool = False,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A robot token, optionally restricted to a project and/or workflow; ``policy_bypass``
    lets its pushes through gated policy violations when they ask to."""
    actor.require_admin()
    if not name or len(name) > 200:
        raise InvalidInput("a token needs a name of at most 200 characters")
    if expires_in_seconds is not None and expires_in_seconds <= 0:
        raise InvalidInput("expires_in_seconds must be positive")
    project_row: Project | None = None
    workflow_row: Workflow | None = None
    if project:
        project_row = session.scalar(
            select(Project).where(Project.org_id == actor.org_id, Project.name == project)
        )
        if project_row is None:
            raise NotFound(f"project {project!r} not found")
    if workflow:
        stmt = select(Workflow).where(Workflow.org_id == actor.org_id, Workflow.name == workflow)
        if project_row is not None:
            stmt = stmt.where(Workflow.project_id == project_row.id)
        found = list(session.scalars(stmt.limit(2)))
        if not found:
            raise NotFound(f"workflow {workflow!r} not found")
        if len(found) > 1:
            raise InvalidInput(
                f"workflow {workflow!r} exists in several projects", hint="name the project too"
            )
        workflow_row = found[0]
        if project_row is None:
            project_row = session.get(Project, workflow_row.project_id)
    secret = new_secret()
    created = now or utcnow()
    row = ApiToken(
        org_id=actor.org_id,
        name=name,
        kind="robot",
        role="robot",
        project_id=project_row.id if project_row else None,
        workflow_id=workflow_row.id if workflow_row else None,
        token_hash=hash_secret(secret),
        policy_bypass=policy_bypass,
        created_at=created,
        expires_at=created + timedelta(seconds=expires_in_seconds) if expires_in_seconds else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor.org_id,
        actor,
        "token.create",
        row.id,
        kind="robot",
        project=project,
        workflow=workflow,
        policy_bypass=policy_bypass,
    )
    return row, secret


#: A person's own API tokens always expire: at most a year, 30 days unless asked.
PERSONAL_DEFAULT_SECONDS = 30 * 86400
PERSONAL_MAX_SECONDS = 365 * 86400


def create_personal_token(
    session: Session,
    actor: Principal,
    *,
    name: str,
    role: str | None = None,
    expires_in_seconds: int = PERSONAL_DEFAULT_SECONDS,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A token of the person acting, with their role (or a lower ``role``), expiring; it
    follows their membership as their sessions do (docs/identity.md). Every role may make
    one; robots may not."""
    if actor.user_id is None:
        raise Forbidden("only a person may create a personal token", hint=_PERSON_HINT)
    if not name or len(name) > 200:
        raise InvalidInput("a token needs a name of at most 200 characters")
    if not 0 < expires_in_seconds <= PERSONAL_MAX_SECONDS:
        raise InvalidInput("a personal token expires within 1 second to 365 days")
    wanted = role or actor.role
    if wanted not in ROLE_RANK or wanted == "robot":
        raise InvalidInput(f"unknown role {wanted!r}", hint="viewer, member, admin or owner")
    actor.require_outranks_or_equals(wanted, "create a token")
    secret = new_secret()
    created = now or utcnow()
    row = ApiToken(
        org_id=actor.org_id,
        name=name,
        kind="user",
        role=wanted,
        user_id=actor.user_id,
        token_hash=hash_secret(secret),
        created_at=created,
        expires_at=created + timedelta(seconds=expires_in_seconds),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor.org_id, actor, "token.create", row.id, kind="user", role=wanted,
        personal=True,
    )  # fmt: skip
    return row, secret


def list_personal(session: Session, actor: Principal) -> list[ApiToken]:
    """The acting person's own tokens in this organisation, newest first."""
    if actor.user_id is None:
        raise Forbidden("only a person has personal tokens", hint=_PERSON_HINT)
    stmt = select(ApiToken).where(
        ApiToken.org_id == actor.org_id, ApiToken.user_id == actor.user_id
    )
    return list(session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id)))


_PERSON_HINT = "sign in with `chainproof auth login`, or use a person's token"


def authenticate(session: Session, secret: str, now: datetime | None = None) -> Principal:
    """The principal behind ``secret``; Unauthorized when unknown, expired or revoked.

    One statement: the token with its organisation, its person's membership and the names
    of its project and workflow scope (every request pays it)."""
    now = now or utcnow()
    if not secret.startswith(PREFIX):
        raise Unauthorized("invalid API token", hint="tokens start with cp_")
    found = session.execute(_principal_query(hash_secret(secret))).one_or_none()
    if found is None:
        raise Unauthorized("invalid API token")
    row, org, member_role, project_name, workflow_name = found
    if row.revoked_at is not None:
        raise Unauthorized("this API token was revoked", hint="ask an admin for a new token")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("this API token has expired", hint="ask an admin for a new token")
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    role = _effective_role(row, member_role)
    return Principal(
        org_id=org.id,
        org_name=org.name,
        token_id=row.id,
        token_name=row.name,
        kind=row.kind,
        role=role,
        project_id=row.project_id,
        project_name=project_name,
        workflow_id=row.workflow_id,
        workflow_name=workflow_name,
        policy_bypass=bool(row.policy_bypass),
        ci_identity=row.ci_identity,
        user_id=row.user_id,
        run_id=row.run_id,
        project_roles=visibility.roles_of(session, org.id, row.user_id, role)
        if row.kind == "user"
        else None,
    )


def _principal_query(
    token_hash: str,
) -> Select[ApiToken, Organization, str | None, str | None, str | None]:
    return (
        select(ApiToken, Organization, Membership.role, Project.name, Workflow.name)
        .join(Organization, Organization.id == ApiToken.org_id)
        .outerjoin(
            Membership,
            (Membership.org_id == ApiToken.org_id) & (Membership.user_id == ApiToken.user_id),
        )
        .outerjoin(Project, Project.id == ApiToken.project_id)
        .outerjoin(Workflow, Workflow.id == ApiToken.workflow_id)
        .where(ApiToken.token_hash == token_hash)
    )


def _effective_role(row: ApiToken, member: str | None) -> str:
    """A user's token holds the lower of its own role and its user's current membership
    (docs/identity.md): a demoted person's tokens are demoted with them, a removed one's stop."""
    if row.kind != "user" or row.user_id is None:
        return row.role
    if member is None:
        raise Unauthorized(
            "this API token's person is no longer a member of the organisation",
            hint="ask an admin to invite them again",
        )
    return min(row.role, member, key=lambda r: ROLE_RANK.get(r, -1))


def list_page(
    session: Session, actor: Principal, limit: int, cursor: str | None
) -> tuple[list[ApiToken], str | None]:
    """Tokens of the organisation, newest first."""
    actor.require_admin()
    stmt = (
        select(ApiToken)
        .where(ApiToken.org_id == actor.org_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )
    return pagination.page(session, stmt, limit, cursor)


def revoke(session: Session, actor: Principal, token_id: str, now: datetime | None = None) -> None:
    """Revoke a token of this organisation (idempotent; owner/admin, or a person their own
    token); NotFound for others."""
    row = session.get(ApiToken, token_id)
    own = row is not None and actor.user_id is not None and row.user_id == actor.user_id
    if not own:
        actor.require_admin()
    if row is None or row.org_id != actor.org_id:
        raise NotFound("token not found")
    if not own:
        actor.require_outranks_or_equals(_holder_role(session, row), "revoke a token")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit.record(session, actor.org_id, actor, "token.revoke", row.id)


def _holder_role(session: Session, row: ApiToken) -> str:
    """The highest of the token's role and its user's current role in the organisation."""
    roles = [row.role]
    if row.user_id is not None:
        member = session.scalar(
            select(Membership.role).where(
                Membership.org_id == row.org_id, Membership.user_id == row.user_id
            )
        )
        if member is not None:
            roles.append(member)
    return max(roles, key=lambda role: ROLE_RANK.get(role, len(ROLE_RANK)))


def token_view(session: Session, row: ApiToken) -> dict[str, Any]:
    """JSON form without the secret."""
    project = session.get(Project, row.project_id) if row.project_id else None
    workflow = session.get(Workflow, row.workflow_id) if row.workflow_id else None
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "role": row.role,
        "project": project.name if project else None,
        "workflow": workflow.name if workflow else None,
        "expires_at": rfc3339(row.expires_at),
        "revoked_at": rfc3339(row.revoked_at),
        "last_used_at": rfc3339(row.last_used_at),
        "created_at": rfc3339(row.created_at),
        "policy_bypass": bool(row.policy_bypass),
    }


def revoke_unused(session: Session, now: datetime | None = None) -> int:
    """Revoke, in each organisation that asks for it (``revoke_unused_tokens_seconds``), the
    live tokens nobody used for that long (never used: since they were made). Owners' tokens
    are kept: losing the last one would lock the organisation out. Audited; the count."""
    now = now or utcnow()
    revoked = 0
    orgs = session.execute(
        select(Organization.id, Organization.revoke_unused_tokens_seconds).where(
            Organization.revoke_unused_tokens_seconds.is_not(None)
        )
    )
    for org_id, seconds in orgs:
        cutoff = now - timedelta(seconds=seconds or 0)
        stale = session.scalars(
            select(ApiToken).where(
                ApiToken.org_id == org_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.role != "owner",
                func.coalesce(ApiToken.last_used_at, ApiToken.created_at) < cutoff,
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            )
        )
        for row in stale:
            row.revoked_at = now
            audit.record(session, org_id, None, "token.revoke", row.id, reason="unused")
            revoked += 1
    return revoked
