"""``chainproof workflow contract``: contracts with immutable numbered revisions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    Column,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_fields,
    print_table,
)
from chainproof.errors import InvalidInput

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
    diff: Annotated[
        str | None,
        typer.Option(
            "--diff",
            help="Show what changed between two revisions instead: FROM..TO (e.g. 3..4), "
            "FROM.. (to the latest) or ..TO (from the one before).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a contract at a revision, or what changed between two (--diff).

    Example: chainproof workflow contract describe --name release --diff 3..4
    """
    api = cli_context(ctx).api()
    if diff is not None:
        if revision is not None:
            raise InvalidInput("--revision and --diff do not go together", hint="give one")
        start, end = parse_range(diff)
        _show_diff(api.diff_contract(name, start, end), output)
        return
    _show(api.get_contract(name, revision), output, f"Contract {name}")


_RANGE = re.compile(r"\s*(\d*)\s*\.\.\s*(\d*)\s*")
_SECTION_TITLES = {
    "materials": "Materials",
    "runner": "Runner",
    "env": "Environment allow-list",
    "policies": "Policies",
    "annotations": "Annotations",
}


def parse_range(text: str) -> tuple[int | None, int | None]:
    """``3..4`` → (3, 4), ``3..`` → (3, None), ``..4`` → (None, 4); InvalidInput otherwise."""
    match = _RANGE.fullmatch(text)
    start = int(match.group(1)) if match and match.group(1) else None
    end = int(match.group(2)) if match and match.group(2) else None
    if not match or (start is None and end is None) or 0 in (start, end):
        raise InvalidInput(
            f"{text!r} is not a revision range",
            hint="use FROM..TO such as 3..4, or 3.. for revision 3 to the latest",
        )
    if start is not None and end is not None and start >= end:
        raise InvalidInput(
            f"revision range {text!r} does not go forward", hint="FROM must be below TO"
        )
    return start, end


def _show_diff(result: dict[str, Any], output: Output) -> None:
    if output is Output.json:
        emit_json(result)
        return
    typer.echo(
        f"Contract {result['name']}: revision {result['from']} → {result['to']} "
        f"(latest {result['latest_revision']})"
    )
    changes = result.get("changes") or []
    if not changes:
        typer.echo("No changes.")
        return
    for section, title in _SECTION_TITLES.items():
        rows = [c for c in changes if c.get("section") == section]
        if rows:
            print_table(
                rows,
                [
                    ("", "op"),
                    ("Name", "name"),
                    ("Change", lambda c: c.get("detail") or ""),
                    ("New requirement", "requirement"),
                ],
                title=title,
            )


ROLLOUT_COLUMNS: list[Column] = [
    ("Project", "project"),
    ("Workflow", "workflow"),
    ("Owner", "team"),
    ("Last compliant rev", "last_compliant_revision"),
    ("On newest", "complied_newest"),
    ("Lagging since", lambda w: _minute(w.get("lagging_since"))),
]


def _minute(stamp: str | None) -> str | None:
    """``2026-12-07T02:54:08.28Z`` → ``2026-12-07 02:54Z``: enough for a table."""
    return f"{stamp[:16].replace('T', ' ')}Z" if stamp else None


@app.command("rollout")
def rollout(ctx: typer.Context, name: NameOpt, output: OutputOpt = Output.table) -> None:
    """Show how far each workflow on the contract has adopted its newest revision
    (laggards first, longest lag first).

    Example: chainproof workflow contract rollout --name release -o json
    """
    result = cli_context(ctx).api().contract_rollout(name)
    if output is Output.json:
        emit_json(result)
        return
    required = result.get("required_from")
    print_fields(
        [
            ("Contract", result["name"]),
            (
                "Newest revision",
                f"{result['latest_revision']} (published {result['published_at']})",
            ),
            ("Required from", required or "no grace period: older revisions stay accepted"),
        ],
        title=f"Rollout of contract {name}",
    )
    print_table(result.get("workflows") or [], ROLLOUT_COLUMNS, title="Workflows")


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
