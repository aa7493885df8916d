"""``chainproof integration``: send events to webhooks, chat and email (docs/integrations.md)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

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
    help="Send events (runs, policy violations, contract revisions) to webhooks, chat, email.",
    no_args_is_help=True,
)

NameOpt = Annotated[str, typer.Option("--name", help="The integration's name.")]
ProjectOpt = Annotated[str, typer.Option("--project", help="Project whose events are sent.")]
WorkflowOpt = Annotated[
    str | None,
    typer.Option("--workflow", help="Only this workflow of the project.", show_default=False),
]

COLUMNS: list[Column] = [
    ("Name", "name"),
    ("Kind", "kind"),
    ("Config", lambda row: json.dumps(row.get("config") or {}, sort_keys=True)),
    ("Secret", lambda row: "set" if row.get("has_secret") else "-"),
    (
        "Attached to",
        lambda row: "; ".join(_where(a) for a in row.get("attachments") or []) or "-",
    ),
]
DELIVERY_COLUMNS: list[Column] = [
    ("Id", "id"),
    ("Event", "event_type"),
    ("Subject", "subject"),
    ("Status", "status"),
    ("Attempts", "attempts"),
    ("Code", lambda row: row.get("last_status_code") or "-"),
    ("Error", lambda row: (row.get("last_error") or "-")[:60]),
    ("Created", "created_at"),
]


def _where(a: dict[str, Any]) -> str:
    place = f"{a['project']}/{a['workflow']}" if a.get("workflow") else str(a["project"])
    filters = [*a.get("events", []), *a.get("material_kinds", [])]
    return f"{place} [{', '.join(filters)}]" if filters else place


def _config(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--config")
        out[key] = value
    return out


@app.command("available")
def available(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the installed kinds, what their secret is, and their configuration's JSON schema.

    Example: chainproof integration available -o json
    """
    kinds = cli_context(ctx).api().integration_kinds()
    if output is Output.json:
        emit_json(kinds)
        return
    columns: list[Column] = [
        ("Kind", "kind"),
        ("Description", "description"),
        ("Secret (--secret-stdin)", lambda k: k.get("stdin_help") or "-"),
        ("Events", lambda k: ", ".join(k.get("event_types") or []) or "all"),
        ("Config keys", lambda k: ", ".join(_keys(k["config_schema"]))),
    ]
    print_table(kinds, columns, title="Integration kinds")


def _keys(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    return [k if k in required else f"{k}?" for k in schema.get("properties", {})]


@app.command("add")
def add(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(
            help="webhook, slack, discord, teams, email, dependency-track, oci-export, ..."
        ),
    ],
    name: NameOpt,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", help="key=value of the kind's configuration (repeat)."),
    ] = None,
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin",
            help="Read the secret from standard input (webhook signing key, chat webhook URL, "
            "SMTP password, Dependency-Track API key, registry password): sealed on the "
            "server, never shown again.",
        ),
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """Register an integration of the organisation (owner or admin token).

    Example: printf %s "$HOOK_KEY" | chainproof integration add webhook --name alerts
    --config url=https://hooks.example.com/chainproof --secret-stdin
    """
    secret = sys.stdin.read().strip() if secret_stdin else None
    api = cli_context(ctx).api()
    created = api.create_integration(kind, name, _config(config or []), secret)
    if output is Output.json:
        emit_json(created)
        return
    print_table([created], COLUMNS, title="Integration added")
    info(f"Attach it: chainproof integration attach --name {name} --project PROJECT")


@app.command("attach")
def attach(
    ctx: typer.Context,
    name: NameOpt,
    project: ProjectOpt,
    workflow: WorkflowOpt = None,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            help="Only these events (repeat): run.succeeded, run.failed, run.blocked, "
            "policy.violated, contract.published, finding.opened, finding.closed. Default: all.",
        ),
    ] = None,
    material_kind: Annotated[
        list[str] | None,
        typer.Option(
            "--material-kind",
            help="Only events whose run (or contract) has one of these material kinds "
            "(repeat), e.g. SBOM_CYCLONEDX_JSON. Default: all.",
        ),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Send a project's (or one workflow's) events to the integration.

    Example: chainproof integration attach --name alerts --project shop --event run.failed
    """
    described = (
        cli_context(ctx)
        .api()
        .attach_integration(
            name, project=project, workflow=workflow, events=event, material_kinds=material_kind
        )
    )
    _show(described, output)


@app.command("detach")
def detach(
    ctx: typer.Context, name: NameOpt, project: ProjectOpt, workflow: WorkflowOpt = None
) -> None:
    """Stop sending a project's (or workflow's) events to the integration.

    Example: chainproof integration detach --name alerts --project shop
    """
    cli_context(ctx).api().detach_integration(name, project=project, workflow=workflow)
    info(f"Integration {name} detached from {project}{'/' + workflow if workflow else ''}.")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the organisation's integrations (secrets are never shown).

    Example: chainproof integration list
    """
    items = cli_context(ctx).api().list_integrations()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="Integrations")


@app.command("describe")
def describe(ctx: typer.Context, name: NameOpt, output: OutputOpt = Output.table) -> None:
    """Show one integration, its configuration and where it is attached.

    Example: chainproof integration describe --name alerts -o json
    """
    _show(cli_context(ctx).api().describe_integration(name), output)


@app.command("remove")
def remove(ctx: typer.Context, name: NameOpt) -> None:
    """Remove an integration with its attachments and deliveries.

    Example: chainproof integration remove --name alerts
    """
    cli_context(ctx).api().remove_integration(name)
    info(f"Integration {name} removed.")


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    name: NameOpt,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    output: OutputOpt = Output.table,
) -> None:
    """List an integration's deliveries with their status; -o json adds every attempt.

    Example: chainproof integration deliveries --name alerts
    """
    items = cli_context(ctx).api().list_deliveries(name, limit)
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, DELIVERY_COLUMNS, title=f"Deliveries of {name}")


@app.command("redeliver")
def redeliver(
    ctx: typer.Context,
    delivery_id: Annotated[str, typer.Option("--id", help="The delivery's id.")],
    output: OutputOpt = Output.table,
) -> None:
    """Send one delivery again (a worker picks it up within a second or so).

    Example: chainproof integration redeliver --id 5f0c...
    """
    again = cli_context(ctx).api().redeliver(delivery_id)
    if output is Output.json:
        emit_json(again)
    else:
        print_table([again], DELIVERY_COLUMNS, title="Delivery queued again")


def _show(described: dict[str, Any], output: Output) -> None:
    if output is Output.json:
        emit_json(described)
    else:
        print_table([described], COLUMNS, title=f"Integration {described['name']}")
