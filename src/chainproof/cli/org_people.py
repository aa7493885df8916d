"""``chainproof org member`` and ``org invite``: who belongs to the organisation, with which
role (docs/identity.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from chainproof.cli._common import (
    Column,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    info,
    print_table,
)


class Role(StrEnum):
    """The organisation roles, least privilege first."""

    viewer = "viewer"
    member = "member"
    admin = "admin"
    owner = "owner"


MemberArg = Annotated[str, typer.Argument(help="The member's email address or user id.")]
RoleOpt = Annotated[Role, typer.Option("--role", help="viewer, member, admin or owner.")]

member_app = typer.Typer(help="List members, change their role, remove them.", no_args_is_help=True)
invite_app = typer.Typer(
    help="Invite people by email address (accepted when they first sign in).", no_args_is_help=True
)

MEMBER_COLUMNS: list[Column] = [
    ("Email", "email"),
    ("Name", "name"),
    ("Role", "role"),
    ("Since", "since"),
    ("Last sign-in", "last_sign_in_at"),
    ("User id", "user_id"),
]
INVITE_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Email", "email"),
    ("Role", "role"),
    ("Invited", "created_at"),
]


@member_app.command("list")
def member_list(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the organisation's members and their roles.

    Example: chainproof org member list -o json
    """
    items = cli_context(ctx).api().list_members()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, MEMBER_COLUMNS, title="Members")


@member_app.command("update")
def member_update(
    ctx: typer.Context, member: MemberArg, role: RoleOpt, output: OutputOpt = Output.table
) -> None:
    """Give a member another role (owner or admin; never above your own; not the last owner).

    Example: chainproof org member update ana@example.com --role admin
    """
    updated = cli_context(ctx).api().update_member(member, role.value)
    if output is Output.json:
        emit_json(updated)
    else:
        print_table([updated], MEMBER_COLUMNS, title="Member updated")


@member_app.command("remove")
def member_remove(ctx: typer.Context, member: MemberArg) -> None:
    """Remove a member; their API tokens of this organisation are revoked.

    Example: chainproof org member remove ana@example.com
    """
    cli_context(ctx).api().remove_member(member)
    info(f"Removed {member}.")


@invite_app.command("create")
def invite_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="The address to invite.")],
    role: RoleOpt = Role.member,
    output: OutputOpt = Output.table,
) -> None:
    """Invite an email address with a role; the person joins when they first sign in with a
    verified address (`chainproof auth login`).

    Example: chainproof org invite create --email ana@example.com --role viewer
    """
    created = cli_context(ctx).api().create_invitation(email, role.value)
    if output is Output.json:
        emit_json(created)
    else:
        print_table([created], INVITE_COLUMNS, title="Invitation")


@invite_app.command("list")
def invite_list(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List pending invitations.

    Example: chainproof org invite list
    """
    items = cli_context(ctx).api().list_invitations()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, INVITE_COLUMNS, title="Invitations")


@invite_app.command("revoke")
def invite_revoke(
    ctx: typer.Context, invitation: Annotated[str, typer.Argument(help="The invitation id.")]
) -> None:
    """Withdraw a pending invitation.

    Example: chainproof org invite revoke 3f2a...
    """
    cli_context(ctx).api().revoke_invitation(invitation)
    info("Invitation revoked.")
