"""``chainproof auth``: who the configured token is."""

from __future__ import annotations

import typer

from chainproof.cli._common import Output, OutputOpt, cli_context, emit_json, print_fields

app = typer.Typer(help="Check the credentials the CLI uses.", no_args_is_help=True)


@app.command("status")
def status(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """Show the organisation and token behind --token / CHAINPROOF_TOKEN.

    Example: CHAINPROOF_TOKEN=cp_... chainproof auth status -o json
    """
    me = cli_context(ctx).api().whoami()
    if output is Output.json:
        emit_json(me)
        return
    org, tok = me.get("org") or {}, me.get("token") or {}
    print_fields(
        [
            ("Organisation", f"{org.get('name')} ({org.get('id')})"),
            ("Token", tok.get("name")),
            ("Token id", tok.get("id")),
            ("Kind", tok.get("kind")),
            ("Role", tok.get("role")),
            ("Project", tok.get("project")),
            ("Workflow", tok.get("workflow")),
        ],
        title="Authenticated",
    )
