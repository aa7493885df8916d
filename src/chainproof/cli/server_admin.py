"""``chainproof server admin``: operator commands run on the server host, reading the data
dir like the other ``server`` commands."""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli._common import Output, OutputOpt, emit_json, info
from chainproof.cli.server import DatabaseUrlOpt, DataDirOpt, server_extra

app = typer.Typer(
    help="Operator commands on the server host (access recovery).", no_args_is_help=True
)


@app.command("create-token")
def create_token(
    data_dir: DataDirOpt,
    org: Annotated[str, typer.Option("--org", help="The organisation to regain access to.")],
    database_url: DatabaseUrlOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Print a new owner token of an organisation, for a new recovery member (remove it with
    `org member remove` once access is back). Needs the data dir, not a token.

    Example: chainproof server admin create-token --data-dir ./cp-data --org acme
    """
    with server_extra():
        from chainproof.server.recovery import create_recovery_token
        from chainproof.server.settings import Settings

        result = create_recovery_token(
            Settings.of_data_dir(data_dir, database_url=database_url), org
        )
    if output is Output.json:
        emit_json(result)
        return
    info(f"Owner token of {org} for the new member {result['name']} (shown once):")
    typer.echo(result["token"])
