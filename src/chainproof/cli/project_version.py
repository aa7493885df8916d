"""``chainproof project version``: a project's versions, prerelease until released."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    Column,
    NextOpt,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_page,
    print_table,
)

app = typer.Typer(
    help="A project's versions: list them with their runs and compliance, release one.",
    no_args_is_help=True,
)

ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project name, e.g. shop.")]


def _state(row: dict[str, Any]) -> str:
    if row.get("prerelease"):
        return "prerelease"
    return f"released {str(row.get('released_at') or '')[:16].replace('T', ' ')}"


def _compliance(row: dict[str, Any]) -> str:
    share = row.get("compliance")
    if share is None:
        return "-"
    return f"{share:.0%} ({row.get('succeeded_runs')}/{row.get('finished_runs')})"


COLUMNS: list[Column] = [
    ("Version", "version"),
    ("State", _state),
    ("Released by", lambda row: row.get("released_by") or ""),
    ("Runs", "runs"),
    ("Compliance", _compliance),
    ("Created", lambda row: str(row.get("created_at") or "")[:16].replace("T", " ")),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    project: ProjectOpt,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    next_page: NextOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List a project's versions, newest first: prerelease or released (when, by whom),
    their runs, and compliance (the share of finished runs that succeeded with no policy
    violation). The next page's cursor goes to stderr, for --next.

    Example: chainproof project version list --project shop -o json
    """
    api = cli_context(ctx).api()
    items, cursor = api.list_versions_page(project, limit=limit, cursor=next_page)
    print_page(items, cursor, output, COLUMNS, title=f"Versions of {project}", noun="versions")


@app.command("release")
def release(
    ctx: typer.Context,
    project: ProjectOpt,
    version: Annotated[str, typer.Option("--version", help="The version, e.g. 1.2.3.")],
    output: OutputOpt = Output.table,
) -> None:
    """Release a project version (owner or admin token; audited). A release is final; with
    `org update --refuse-released-versions` its new runs are refused.

    Example: chainproof project version release --project shop --version 1.2.3
    """
    row = cli_context(ctx).api().release_version(project, version)
    if output is Output.json:
        emit_json(row)
    else:
        print_table([row], COLUMNS, title="Version released")
