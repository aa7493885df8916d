"""``chainproof drift``: findings about workflows that drifted from good practice."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    NextOpt,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    parse_duration,
    print_page,
    print_table,
)

app = typer.Typer(
    help="Drift findings: stopped, failing, regressed, runner-changed, lagging, unmanaged.",
    no_args_is_help=True,
)

KINDS = ("stopped", "failing", "regressed", "runner-changed", "lagging", "unmanaged")


def _evidence(row: dict[str, Any]) -> str:
    # Run ids shortened as git does; `workflow run describe` takes the prefix.
    return " ".join(run_id[:8] for run_id in row.get("evidence") or [])


def _acknowledged(row: dict[str, Any]) -> str:
    if not row.get("acknowledged_at"):
        return ""
    return f"{row.get('acknowledged_by')}: {row.get('acknowledged_reason')}"


def _short(value: Any) -> str:
    return str(value or "")[:16].replace("T", " ")


COLUMNS: list[tuple[str, Any]] = [
    ("ID", lambda r: str(r.get("id"))[:8]),
    ("Kind", "kind"),
    ("Severity", "severity"),
    ("Project/Workflow", lambda r: f"{r.get('project')}/{r.get('workflow')}"),
    ("Owner", "owner"),
    ("Opened", lambda r: _short(r.get("opened_at"))),
    ("Evidence (runs)", _evidence),
    ("Acknowledged", _acknowledged),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"Only this kind: {', '.join(KINDS)}.")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Closed findings too (default: open ones only).")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many per page.")] = 200,
    next_page: NextOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List the open drift findings of the organisation, newest first, a page of --limit
    at a time. When more follow, the next page's cursor goes to stderr (with -o json as one
    JSON line {"next_cursor": "..."}); pass it back with --next and the same filters.

    Example: chainproof drift list --kind failing -o json
    """
    items, cursor = (
        cli_context(ctx)
        .api()
        .list_findings_page(
            kind=kind,
            project=project,
            workflow=workflow,
            status="all" if all_ else "open",
            limit=limit,
            cursor=next_page,
        )
    )
    columns = [*COLUMNS, ("Closed", lambda r: _short(r.get("closed_at")))] if all_ else COLUMNS
    title = "Findings" if all_ else "Open findings"
    print_page(items, cursor, output, columns, title=title, noun="findings")


@app.command("acknowledge")
def acknowledge(
    ctx: typer.Context,
    finding_id: Annotated[
        str, typer.Option("--id", help="The finding's id, or its first 8+ characters.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the finding is accepted.")],
    output: OutputOpt = Output.table,
) -> None:
    """Accept an open finding, saying why (owners and admins; audited).

    It stays listed, marked acknowledged, until its cause goes away.

    Example: chainproof drift acknowledge --id 3f2c... --reason "moved to a self-hosted pool"
    """
    finding = cli_context(ctx).api().acknowledge_finding(finding_id, reason)
    if output is Output.json:
        emit_json(finding)
    else:
        print_table([finding], COLUMNS, title="Finding acknowledged")


@app.command("cadence")
def cadence(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    workflow: Annotated[str, typer.Option("--workflow", help="Workflow name.")],
    every: Annotated[
        str | None,
        typer.Option("--every", help="Longest expected gap between runs, e.g. 7d or 12h."),
    ] = None,
    learn: Annotated[
        bool, typer.Option("--learn", help="Forget a set cadence: learn it from the runs.")
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """Set how long a workflow may go without a run before it is reported stopped.

    Example: chainproof drift cadence --project shop --workflow release --every 30d
    """
    if (every is None) == (not learn):
        raise typer.BadParameter("give either --every DURATION or --learn", param_hint="--every")
    try:
        seconds = parse_duration(every) if every else None
    except typer.BadParameter as err:
        raise typer.BadParameter(err.message, param_hint="--every") from None
    result = cli_context(ctx).api().set_cadence(project, workflow, seconds)
    if output is Output.json:
        emit_json(result)
    else:
        shown = f"{result['cadence_seconds']}s" if result["cadence_seconds"] else "learned"
        typer.echo(f"{project}/{workflow}: cadence {shown}")
