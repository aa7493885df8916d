"""``chainproof signing-key``: public keys whose `push --key` bundles the organisation accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chainproof.cli._common import Output, OutputOpt, cli_context, emit_json, print_table

app = typer.Typer(
    help="Register the public keys of `attestation push --key` signers.", no_args_is_help=True
)

COLUMNS = [("Name", "name"), ("ID", "id")]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="A name for the key, e.g. release-ci.")],
    file: Annotated[
        Path, typer.Option("-f", "--file", help="Public key, PEM (SubjectPublicKeyInfo).")
    ],
    output: OutputOpt = Output.table,
) -> None:
    """Accept bundles signed by this key (owner or admin token).

    Example: chainproof signing-key add --name release-ci -f cosign.pub
    """
    created = cli_context(ctx).api().register_signing_key(name, file.read_text())
    if output is Output.json:
        emit_json(created)
    else:
        print_table([created], COLUMNS, title="Signing key registered")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the registered public keys.

    Example: chainproof signing-key list -o json
    """
    items = cli_context(ctx).api().list_signing_keys()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="Signing keys")
