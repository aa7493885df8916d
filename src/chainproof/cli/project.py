"""``chainproof project``: projects group workflows."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chainproof.cli import project_member, project_version
from chainproof.cli._common import (
    Column,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_fields,
    print_table,
)
from chainproof.cli.workflow_lifecycle import block_text

app = typer.Typer(
    help="Create, list, block and rename projects (they group workflows), release their "
    "versions and give people project roles.",
    no_args_is_help=True,
)
app.add_typer(project_version.app, name="version")
app.add_typer(project_member.app, name="member")

COLUMNS: list[Column] = [
    ("Name", "name"),
    ("ID", "id"),
    ("Created", "created_at"),
    ("Blocked", lambda row: block_text(row.get("block"))),
]
NameOpt = Annotated[str, typer.Option("--name", help="Project name, e.g. shop.")]


def _show(project: dict[str, Any], output: Output, title: str) -> None:
    if output is Output.json:
        emit_json(project)
    else:
        print_table([project], COLUMNS, title=title)


@app.command("create")
def create(ctx: typer.Context, name: NameOpt, output: OutputOpt = Output.table) -> None:
    """Create a project.

    Example: chainproof project create --name shop
    """
    _show(cli_context(ctx).api().create_project(name), output, "Project created")


@app.command("list")
def list_(
    ctx: typer.Context,
    blocked: Annotated[
        bool, typer.Option("--blocked", help="Only blocked ones, with reason, who and when.")
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """List the projects of the organisation.

    Example: chainproof project list --blocked -o json
    """
    items = cli_context(ctx).api().list_projects(blocked=blocked)
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="Projects")


@app.command("describe")
def describe(ctx: typer.Context, name: NameOpt, output: OutputOpt = Output.table) -> None:
    """Show a project: its block and how many workflows it has (archived included).

    Example: chainproof project describe --name shop
    """
    project = cli_context(ctx).api().get_project(name)
    if output is Output.json:
        emit_json(project)
        return
    print_fields(
        [
            ("ID", project.get("id")),
            ("Name", project.get("name")),
            ("Created", project.get("created_at")),
            ("Blocked", block_text(project.get("block"))),
            ("Workflows", project.get("workflows")),
            ("Archived workflows", project.get("archived_workflows")),
        ],
        title=f"Project {name}",
    )


@app.command("block")
def block(
    ctx: typer.Context,
    name: NameOpt,
    reason: Annotated[
        str, typer.Option("--reason", help="Why: shown to every job the block refuses, audited.")
    ],
    output: OutputOpt = Output.table,
) -> None:
    """Block every workflow of a project: new runs and pending pushes are refused.

    Owner or admin token. The reason is shown to every job the block refuses.

    Example: chainproof project block --name shop --reason "signing key leaked"
    """
    _show(cli_context(ctx).api().block_project(name, reason), output, "Blocked")


@app.command("unblock")
def unblock(
    ctx: typer.Context,
    name: NameOpt,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the block is lifted (audited).")
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Lift a project's block (workflows blocked on their own stay blocked).

    Example: chainproof project unblock --name shop --reason "key rotated"
    """
    _show(cli_context(ctx).api().unblock_project(name, reason), output, "Unblocked")


@app.command("rename")
def rename(
    ctx: typer.Context,
    name: NameOpt,
    to: Annotated[str, typer.Option("--to", help="The new name.")],
    output: OutputOpt = Output.table,
) -> None:
    """Rename a project; its workflows and runs follow. Refused while a run is in progress.

    Example: chainproof project rename --name shop --to storefront
    """
    _show(cli_context(ctx).api().rename_project(name, to), output, "Renamed")
