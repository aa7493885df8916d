"""``chainproof workflow``: workflows, their contracts (``workflow contract``) and runs
(``workflow run``)."""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli import contract, run, workflow_lifecycle
from chainproof.cli._common import (
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_fields,
    print_table,
)

app = typer.Typer(help="Manage workflows, their contracts and their runs.", no_args_is_help=True)
app.add_typer(contract.app, name="contract")
app.add_typer(run.app, name="run")

COLUMNS = [
    ("Project", "project"),
    ("Name", "name"),
    ("Team", "team"),
    ("Contract", "contract"),
    ("Blocked", "blocked"),
    ("ID", "id"),
]

ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project name.")]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Workflow name, unique in the project.")],
    project: ProjectOpt,
    team: Annotated[str | None, typer.Option("--team", help="Owning team.")] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What it builds.")
    ] = None,
    contract_name: Annotated[
        str | None,
        typer.Option("--contract", help="Existing contract name (default: a new empty one)."),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Create a workflow, and its project if missing (unless the org prevents implicit creation).

    Example: chainproof workflow create --name build --project shop --contract release
    """
    created = (
        cli_context(ctx)
        .api()
        .create_workflow(name, project, team=team, description=description, contract=contract_name)
    )
    if output is Output.json:
        emit_json(created)
    else:
        print_table([created], COLUMNS, title="Workflow created")


@app.command("list")
def list_(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    blocked: Annotated[
        bool, typer.Option("--blocked", help="Only blocked ones, with reason, who and when.")
    ] = False,
    archived: Annotated[bool, typer.Option("--archived", help="Only archived ones.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Archived ones too.")] = False,
    output: OutputOpt = Output.table,
) -> None:
    """List workflows, optionally of one project (archived ones are hidden by default).

    Example: chainproof workflow list --project shop --blocked -o json
    """
    which = "only" if archived else "all" if all_ else "hide"
    items = cli_context(ctx).api().list_workflows(project, blocked=blocked, archived=which)
    if output is Output.json:
        emit_json(items)
    else:
        columns = workflow_lifecycle.COLUMNS if blocked or archived or all_ else COLUMNS
        print_table(items, columns, title="Workflows")


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Workflow name.")],
    project: ProjectOpt,
    output: OutputOpt = Output.table,
) -> None:
    """Show one workflow.

    Example: chainproof workflow describe --name build --project shop
    """
    wf = cli_context(ctx).api().get_workflow(project, name)
    if output is Output.json:
        emit_json(wf)
        return
    print_fields(
        [
            (k.replace("_", " ").capitalize(), wf.get(k))
            for k in (
                "id",
                "project",
                "name",
                "team",
                "description",
                "contract",
                "blocked",
                "archived_at",
                "created_at",
            )
        ]
        + [("Block", workflow_lifecycle.block_text(wf.get("block")))],
        title=f"Workflow {project}/{name}",
    )


workflow_lifecycle.register(app)
