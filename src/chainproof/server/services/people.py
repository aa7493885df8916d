"""People in an organisation: memberships with a role, and invitations by email address.

An owner or admin invites an email address with a role; the invitation is accepted when a
person whose identity provider vouches for that address signs in (:mod:`.signin`). Nobody
grants, changes or removes a role above their own, and the last owner can be neither demoted
nor removed, so an organisation is never left without one (docs/identity.md). Every change is
audited.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, NotFound
from chainproof.server.db import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    ProjectMembership,
    User,
)
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit
from chainproof.server.support.principal import ROLES, Principal
from chainproof.server.support.times import rfc3339

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,255}\.[A-Za-z]{2,63}$")
_LIST_HINT = "see `chainproof org member list`"


def check_role(role: str) -> str:
    """One of owner, admin, member, viewer; InvalidInput otherwise."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", hint="use owner, admin, member or viewer")
    return role


def normal_email(email: str) -> str:
    """``email`` stripped and in lower case; InvalidInput when it is not an address."""
    text = (email or "").strip().lower()
    if not _EMAIL.fullmatch(text):
        raise InvalidInput(f"{email!r} is not an email address")
    return text


# -- memberships -------------------------------------------------------------------------------
def list_members(session: Session, actor: Principal) -> list[tuple[Membership, User]]:
    """The organisation's members, by email then name (every user role; not robots)."""
    actor.require_reader()
    stmt = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == actor.org_id)
        .order_by(User.email, User.name)
    )
    return [(m, u) for m, u in session.execute(stmt)]


def update_member(
    session: Session, actor: Principal, member: str, role: str
) -> tuple[Membership, User]:
    """Give ``member`` (a user id or email) ``role`` (owner/admin, up to their own role)."""
    actor.require_admin()
    check_role(role)
    row, user = find_member(session, actor.org_id, member)
    actor.require_outranks_or_equals(row.role, "change a member")
    actor.require_outranks_or_equals(role, "grant a role")
    if row.role == "owner" and role != "owner":
        _require_another_owner(session, actor.org_id, user, "demote")
    before, row.role = row.role, role
    audit.record(
        session, actor.org_id, actor, "member.update", user.id, email=user.email, role=role,
        previous=before,
    )  # fmt: skip
    return row, user


def remove_member(session: Session, actor: Principal, member: str) -> None:
    """Remove ``member`` from the organisation (owner/admin); their API tokens of it are
    revoked, their sessions no longer reach it and their project roles there go."""
    actor.require_admin()
    row, user = find_member(session, actor.org_id, member)
    actor.require_outranks_or_equals(row.role, "remove a member")
    if row.role == "owner":
        _require_another_owner(session, actor.org_id, user, "remove")
    session.delete(row)
    session.execute(
        delete(ProjectMembership).where(
            ProjectMembership.org_id == actor.org_id, ProjectMembership.user_id == user.id
        )
    )
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.org_id == actor.org_id,
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    audit.record(
        session, actor.org_id, actor, "member.remove", user.id, email=user.email, role=row.role
    )


def find_member(session: Session, org_id: str, member: str) -> tuple[Membership, User]:
    """The membership and user of ``member`` (email or user id); NotFound otherwise."""
    stmt = select(Membership, User).join(User, User.id == Membership.user_id)
    stmt = stmt.where(Membership.org_id == org_id)
    if "@" in member:
        stmt = stmt.where(User.email == member.strip().lower())
    else:
        stmt = stmt.where(User.id == member)
    found = session.execute(stmt.limit(1)).first()
    if found is None:
        raise NotFound(f"member {member!r} not found", hint=_LIST_HINT)
    return found[0], found[1]


def _require_another_owner(session: Session, org_id: str, user: User, verb: str) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.org_id == org_id,
            Membership.role == "owner",
            Membership.user_id != user.id,
        )
    )
    if not others:
        raise Conflict(
            f"cannot {verb} the last owner of the organisation",
            hint="make another member an owner first (`chainproof org member update`)",
        )


def member_view(row: Membership, user: User) -> dict[str, Any]:
    """JSON form of a membership."""
    return {
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "role": row.role,
        "since": rfc3339(row.created_at),
        "last_sign_in_at": rfc3339(user.last_sign_in_at),
    }


# -- invitations -------------------------------------------------------------------------------
def invite(session: Session, actor: Principal, email: str, role: str) -> Invitation:
    """Invite ``email`` with ``role`` (owner/admin, up to their own role); Conflict when that
    address is a member already or has a pending invitation."""
    actor.require_admin()
    check_role(role)
    actor.require_outranks_or_equals(role, "invite with a role")
    address = normal_email(email)
    member = select(Membership.id).join(User, User.id == Membership.user_id)
    if session.scalar(member.where(Membership.org_id == actor.org_id, User.email == address)):
        raise Conflict(f"{address} is a member already", hint=_LIST_HINT)
    if _pending(session, actor.org_id, address):
        raise Conflict(
            f"{address} has a pending invitation",
            hint="revoke it first (`chainproof org invite revoke`)",
        )
    row = Invitation(org_id=actor.org_id, email=address, role=role, created_by=actor.actor_id)
    session.add(row)
    session.flush()
    audit.record(
        session, actor.org_id, actor, "invitation.create", row.id, email=address, role=role
    )
    return row


def list_invitations(session: Session, actor: Principal) -> list[Invitation]:
    """Pending invitations, newest first (owner/admin)."""
    actor.require_admin()
    stmt = (
        _pending_stmt()
        .where(Invitation.org_id == actor.org_id)
        .order_by(Invitation.created_at.desc(), Invitation.id)
    )
    return list(session.scalars(stmt))


def revoke_invitation(session: Session, actor: Principal, invitation_id: str) -> None:
    """Withdraw a pending invitation (owner/admin); NotFound otherwise."""
    actor.require_admin()
    row = session.get(Invitation, invitation_id)
    if row is None or row.org_id != actor.org_id or row.revoked_at or row.accepted_at:
        raise NotFound("no pending invitation with that id", hint="chainproof org invite list")
    row.revoked_at = utcnow()
    audit.record(session, actor.org_id, actor, "invitation.revoke", row.id, email=row.email)


def accept_invitations(session: Session, user: User, now: datetime) -> list[str]:
    """Turn the pending invitations of ``user``'s verified email into memberships; the names
    of the organisations joined. A person already a member keeps their role."""
    if not user.email:
        return []
    joined = []
    for row in session.scalars(_pending_stmt().where(Invitation.email == user.email)):
        row.accepted_at, row.accepted_by = now, user.id
        exists = select(Membership.id).where(
            Membership.org_id == row.org_id, Membership.user_id == user.id
        )
        if session.scalar(exists) is None:
            session.add(Membership(org_id=row.org_id, user_id=user.id, role=row.role))
            org = session.get(Organization, row.org_id)
            joined.append(org.name if org else row.org_id)
        audit.record(
            session, row.org_id, None, "invitation.accept", row.id, email=user.email,
            user=user.id, role=row.role,
        )  # fmt: skip
    session.flush()
    return joined


def _pending_stmt() -> Any:
    return select(Invitation).where(
        Invitation.revoked_at.is_(None), Invitation.accepted_at.is_(None)
    )


def _pending(session: Session, org_id: str, email: str) -> bool:
    stmt = _pending_stmt().where(Invitation.org_id == org_id, Invitation.email == email)
    return session.scalar(stmt.limit(1)) is not None


def invitation_view(row: Invitation) -> dict[str, Any]:
    """JSON form of an invitation."""
    return {
        "id": row.id,
        "email": row.email,
        "role": row.role,
        "created_at": rfc3339(row.created_at),
    }
