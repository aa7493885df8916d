"""``chainproof project member``: project roles, admin or viewer of one project
(docs/identity.md, "Project roles")."""

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

app = typer.Typer(
    help="Project roles: make a member of the organisation admin or viewer of one project. A "
    "member or viewer who holds any sees only those projects.",
    no_args_is_help=True,
)


class ProjectRole(StrEnum):
    """The project roles, least privilege first."""

    viewer = "viewer"
    admin = "admin"


ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project name, e.g. shop.")]
MemberArg = Annotated[
    str, typer.Argument(help="The organisation member's email address or user id.")
]
COLUMNS: list[Column] = [
    ("Email", "email"),
    ("Name", "name"),
    ("Project role", "role"),
    ("Since", "created_at"),
    ("User id", "user_id"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    member: MemberArg,
    project: ProjectOpt,
    role: Annotated[
        ProjectRole,
        typer.Option(
            "--role",
            help="admin: administer the project's workflows, blocks and versions, and attest; "
            "viewer: read it.",
        ),
    ],
    output: OutputOpt = Output.table,
) -> None:
    """Give a member of the organisation a role in a project, or change it (owners and admins
    of the organisation; running it again changes nothing).

    Example: chainproof project member add ana@example.com --project shop --role admin
    """
    held = cli_context(ctx).api().set_project_member(project, member, role.value)
    if output is Output.json:
        emit_json(held)
    else:
        print_table([held], COLUMNS, title=f"Project role in {project}")


@app.command("list")
def list_(ctx: typer.Context, project: ProjectOpt, output: OutputOpt = Output.table) -> None:
    """List who holds a role in a project.

    Example: chainproof project member list --project shop -o json
    """
    items = cli_context(ctx).api().list_project_members(project)
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title=f"Project roles in {project}")


@app.command("remove")
def remove(ctx: typer.Context, member: MemberArg, project: ProjectOpt) -> None:
    """Take a person's role in a project away (they stay in the organisation; with no project
    role left, a member or viewer sees every project again).

    Example: chainproof project member remove ana@example.com --project shop
    """
    cli_context(ctx).api().remove_project_member(project, member)
    info(f"{member} holds no role in project {project} now.")
