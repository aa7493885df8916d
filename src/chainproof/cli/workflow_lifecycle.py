"""``chainproof workflow block|unblock|update|rename|archive|unarchive|delete`` (owner or
admin token); registered on the ``workflow`` app by :func:`register`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chainproof.cli._common import Output, OutputOpt, cli_context, emit_json, info, print_table

NameOpt = Annotated[str, typer.Option("--name", help="Workflow name.")]
ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project name.")]
ReasonOpt = Annotated[
    str, typer.Option("--reason", help="Why: shown to every job the block refuses, audited.")
]
UnblockReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why the block is lifted (audited).")
]

COLUMNS: list[tuple[str, Any]] = [
    ("Project", "project"),
    ("Name", "name"),
    ("Contract", "contract"),
    ("Blocked", lambda row: block_text(row.get("block"))),
    ("Archived", "archived"),
]


def block_text(block: Any) -> str:
    if not isinstance(block, dict):
        return "no"
    scope = " (project)" if block.get("scope") == "project" else ""
    return f"{block.get('reason') or 'no reason'}{scope}, by {block.get('by')} at {block.get('at')}"


def _show(wf: dict[str, Any], output: Output, title: str) -> None:
    if output is Output.json:
        emit_json(wf)
    else:
        print_table([wf], COLUMNS, title=title)


def block(
    ctx: typer.Context,
    name: NameOpt,
    project: ProjectOpt,
    reason: ReasonOpt,
    output: OutputOpt = Output.table,
) -> None:
    """Block a workflow: its new runs and pending pushes are refused with the reason.

    Owner or admin token. A run in progress when the block comes is marked failed at push.

    Example: chainproof workflow block --name build --project shop --reason "incident 42"
    """
    _show(cli_context(ctx).api().block_workflow(project, name, reason), output, "Blocked")


def unblock(
    ctx: typer.Context,
    name: NameOpt,
    project: ProjectOpt,
    reason: UnblockReasonOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Lift a workflow's block (a block of its project stays).

    Example: chainproof workflow unblock --name build --project shop --reason "runner rebuilt"
    """
    _show(cli_context(ctx).api().unblock_workflow(project, name, reason), output, "Unblocked")


def update(
    ctx: typer.Context,
    name: NameOpt,
    project: ProjectOpt,
    contract: Annotated[
        str | None, typer.Option("--contract", help="Attach this existing contract.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Owning team.")] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What it builds.")
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Change a workflow's contract, team or description (owner or admin token).

    Example: chainproof workflow update --name build --project shop --contract release
    """
    updated = (
        cli_context(ctx)
        .api()
        .update_workflow(project, name, contract=contract, team=team, description=description)
    )
    _show(updated, output, "Updated")


def rename(
    ctx: typer.Context,
    name: NameOpt,
    project: ProjectOpt,
    to: Annotated[str, typer.Option("--to", help="The new name.")],
    output: OutputOpt = Output.table,
) -> None:
    """Rename a workflow; its runs follow. Refused while one of its runs is in progress.

    Example: chainproof workflow rename --name build --project shop --to release
    """
    _show(cli_context(ctx).api().rename_workflow(project, name, to), output, "Renamed")


def archive(
    ctx: typer.Context, name: NameOpt, project: ProjectOpt, output: OutputOpt = Output.table
) -> None:
    """Archive a workflow: hidden from `workflow list`, no new runs, history kept.

    Example: chainproof workflow archive --name old-build --project shop
    """
    _show(cli_context(ctx).api().archive_workflow(project, name), output, "Archived")


def unarchive(
    ctx: typer.Context, name: NameOpt, project: ProjectOpt, output: OutputOpt = Output.table
) -> None:
    """Bring an archived workflow back.

    Example: chainproof workflow unarchive --name old-build --project shop
    """
    _show(cli_context(ctx).api().unarchive_workflow(project, name), output, "Unarchived")


def delete(ctx: typer.Context, name: NameOpt, project: ProjectOpt) -> None:
    """Delete a workflow that has no runs (one with runs: archive it; exit 5).

    Example: chainproof workflow delete --name biuld --project shop
    """
    cli_context(ctx).api().delete_workflow(project, name)
    info(f"Deleted workflow {project}/{name}.")


def register(app: typer.Typer) -> None:
    """Add the commands to the ``workflow`` app."""
    for command in (block, unblock, update, rename, archive, unarchive, delete):
        app.command(command.__name__)(command)
