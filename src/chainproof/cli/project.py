"""``chainproof project``: projects group workflows."""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli._common import Output, OutputOpt, cli_context, emit_json, print_table

app = typer.Typer(help="Create and list projects (they group workflows).", no_args_is_help=True)

COLUMNS = [("Name", "name"), ("ID", "id"), ("Created", "created_at")]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Project name, e.g. shop.")],
    output: OutputOpt = Output.table,
) -> None:
    """Create a project.

    Example: chainproof project create --name shop
    """
    created = cli_context(ctx).api().create_project(name)
    if output is Output.json:
        emit_json(created)
    else:
        print_table([created], COLUMNS, title="Project created")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the projects of the organisation.

    Example: chainproof project list -o json
    """
    items = cli_context(ctx).api().list_projects()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="Projects")
