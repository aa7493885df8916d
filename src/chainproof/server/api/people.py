"""``/api/v1/org/members`` and ``/api/v1/org/invitations``: who belongs to the organisation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import InvitationIn, InvitationOut, MemberOut, MemberPatch
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import people

router = APIRouter(route_class=StrictJsonRoute, prefix="/org", tags=["organisation"])


@router.get("/members", response_model=list[MemberOut])
def list_members(session: SessionDep, principal: PrincipalDep) -> Any:
    """The organisation's members and their roles (every role)."""
    return [people.member_view(m, u) for m, u in people.list_members(session, principal)]


@router.patch("/members/{member}", response_model=MemberOut)
def update_member(
    member: str, body: MemberPatch, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Change a member's role (``member``: user id or email; owner/admin, never above their
    own role; 409 for the last owner)."""
    return people.member_view(*people.update_member(session, principal, member, body.role))


@router.delete("/members/{member}", status_code=204)
def remove_member(member: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Remove a member (owner/admin; 409 for the last owner); their tokens are revoked."""
    people.remove_member(session, principal, member)
    return Response(status_code=204)


@router.post("/invitations", status_code=201, response_model=InvitationOut)
def create_invitation(body: InvitationIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Invite an email address with a role, accepted at that person's first sign-in."""
    return people.invitation_view(people.invite(session, principal, body.email, body.role))


@router.get("/invitations", response_model=list[InvitationOut])
def list_invitations(session: SessionDep, principal: PrincipalDep) -> Any:
    """Pending invitations (owner/admin)."""
    return [people.invitation_view(r) for r in people.list_invitations(session, principal)]


@router.delete("/invitations/{invitation_id}", status_code=204)
def revoke_invitation(invitation_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Withdraw a pending invitation (owner/admin)."""
    people.revoke_invitation(session, principal, invitation_id)
    return Response(status_code=204)
