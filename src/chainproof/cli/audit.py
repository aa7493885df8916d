"""``chainproof audit``: read the organisation's audit log (owner or admin token)."""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli._common import (
    Column,
    NextOpt,
    Output,
    OutputOpt,
    cli_context,
    print_page,
)

app = typer.Typer(help="Read the audit log: who did what, when.", no_args_is_help=True)

COLUMNS: list[Column] = [
    ("When", "at"),
    ("Actor", "actor"),
    ("Action", "action"),
    ("Resource", lambda row: row.get("resource_name") or row.get("resource")),
    ("Details", lambda row: _details(row.get("data") or {})),
]


def _details(data: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.items() if v is not None and k != "lifted")


@app.command("list")
def list_(
    ctx: typer.Context,
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Token name or id, or `system` (jobs, bootstrap)."),
    ] = None,
    resource: Annotated[
        str | None,
        typer.Option(
            "--resource", help="An id (run, token...), a project, project/workflow or a contract."
        ),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", help="e.g. workflow.block, or a family such as workflow."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="A duration back from now (90m, 12h, 7d, 2w) or a date."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many events.")] = 50,
    next_page: NextOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List audit events, newest first, a page of --limit at a time (owner or admin token).

    When more events follow, the next page's cursor goes to stderr (with -o json as one JSON
    line {"next_cursor": "..."}); pass it back with --next and the same filters.

    Example: chainproof audit list --action workflow.block --since 7d -o json
    """
    items, cursor = (
        cli_context(ctx)
        .api()
        .list_audit_page(
            actor=actor,
            resource=resource,
            action=action,
            since=since,
            limit=limit,
            cursor=next_page,
        )
    )
    print_page(items, cursor, output, COLUMNS, title="Audit events", noun="events")
