"""``chainproof org``: the organisation the token belongs to, and its settings."""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli._common import (
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_fields,
    print_table,
)

app = typer.Typer(help="Describe and configure your organisation.", no_args_is_help=True)


def _show(org: dict[str, object], output: Output, title: str) -> None:
    if output is Output.json:
        emit_json(org)
        return
    print_fields(
        [
            ("Name", org.get("name")),
            ("ID", org.get("id")),
            ("Implicit creation", org.get("allow_implicit_creation")),
            ("Created", org.get("created_at")),
        ],
        title=title,
    )


@app.command("describe")
def describe(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """Show the organisation and its settings.

    Example: chainproof org describe -o json
    """
    _show(cli_context(ctx).api().get_org(), output, "Organisation")


@app.command("update")
def update(
    ctx: typer.Context,
    prevent_implicit: Annotated[
        bool | None,
        typer.Option(
            "--prevent-implicit-workflow-creation/--allow-implicit-workflow-creation",
            help="Whether `attestation init` may create unknown projects and workflows.",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Change organisation settings (owner or admin token).

    Example: chainproof org update --prevent-implicit-workflow-creation
    """
    allow = None if prevent_implicit is None else not prevent_implicit
    _show(cli_context(ctx).api().update_org(allow_implicit_creation=allow), output, "Updated")


ca_app = typer.Typer(
    help="The organisation's signing CA: list it and rotate it.", no_args_is_help=True
)
app.add_typer(ca_app, name="ca")

CA_COLUMNS = [
    ("ID", "id"),
    ("Status", "status"),
    ("Created", "created_at"),
    ("Trusted until", lambda row: row.get("trusted_until") or "-"),
    ("SHA-256", lambda row: str(row.get("sha256", ""))[:16]),
]


@ca_app.command("list")
def ca_list(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the signing CAs: the one that issues and the rotated ones still trusted.

    Example: chainproof org ca list -o json
    """
    items = cli_context(ctx).api().list_signing_cas()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, CA_COLUMNS, title="Signing CAs")


@ca_app.command("rotate")
def ca_rotate(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """Start a new signing CA (owner or admin token). Certificates are issued by the new CA
    from now on; bundles signed before keep verifying against the trusted root.

    Example: chainproof org ca rotate -o json
    """
    created = cli_context(ctx).api().rotate_signing_ca()
    if output is Output.json:
        emit_json(created)
    else:
        print_table([created], CA_COLUMNS, title="Signing CA rotated")
