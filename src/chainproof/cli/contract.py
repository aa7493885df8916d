"""``chainproof workflow contract``: contracts with immutable numbered revisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_fields,
    print_table,
)

app = typer.Typer(
    help="Declare what evidence workflows must attest (contracts, revised immutably).",
    no_args_is_help=True,
)

NameOpt = Annotated[str, typer.Option("--name", help="Contract name.")]
FileOpt = Annotated[
    Path,
    typer.Option(
        "--file",
        "-f",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Contract file (YAML or JSON, Chainloop format).",
    ),
]
COLUMNS = [
    ("Name", "name"),
    ("Revision", "revision"),
    ("Description", "description"),
    ("Created", "created_at"),
]


def _show(contract: dict[str, Any], output: Output, title: str) -> None:
    if output is Output.json:
        emit_json(contract)
        return
    spec = contract.get("spec") or {}
    print_fields(
        [
            ("Name", contract.get("name")),
            ("Revision", f"{contract.get('revision')} (latest {contract.get('latest_revision')})"),
            ("Description", contract.get("description")),
            ("Created", contract.get("created_at")),
        ],
        title=title,
    )
    materials = _spec_materials(spec)
    if materials:
        print_table(
            materials,
            [
                ("Material", "name"),
                ("Kind", "type"),
                ("Optional", "optional"),
                ("Output", "output"),
                ("Group", "group"),
            ],
            title="Materials",
        )
    else:
        typer.echo("No materials required.")


def _spec_materials(spec: dict[str, Any]) -> list[dict[str, Any]]:
    inner = spec.get("spec")
    if not isinstance(inner, dict):
        inner = spec
    rows = inner.get("materials") or []
    return [{**m, "type": m.get("type") or m.get("kind")} for m in rows if isinstance(m, dict)]


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameOpt,
    file: FileOpt,
    description: Annotated[str | None, typer.Option("--description", help="Short summary.")] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Create a contract from a file (revision 1).

    Example: chainproof workflow contract create --name release -f release.yaml
    """
    raw = file.read_text(encoding="utf-8")
    created = cli_context(ctx).api().create_contract(name, raw, description)
    _show(created, output, f"Contract {name} created")


@app.command("update")
def update(
    ctx: typer.Context, name: NameOpt, file: FileOpt, output: OutputOpt = Output.table
) -> None:
    """Add a revision to a contract (unchanged when the spec is the same).

    Example: chainproof workflow contract update --name release -f release.yaml
    """
    updated = cli_context(ctx).api().update_contract(name, file.read_text(encoding="utf-8"))
    _show(updated, output, f"Contract {name}")


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: NameOpt,
    revision: Annotated[
        int | None, typer.Option("--revision", help="Revision (default latest).")
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a contract at a revision.

    Example: chainproof workflow contract describe --name release --revision 2 -o json
    """
    _show(cli_context(ctx).api().get_contract(name, revision), output, f"Contract {name}")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List contracts (latest revision of each).

    Example: chainproof workflow contract list
    """
    items = cli_context(ctx).api().list_contracts()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="Contracts")
