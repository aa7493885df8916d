"""``chainproof apply``: contracts, policies and groups from multi-document YAML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chainproof.cli._common import Output, OutputOpt, cli_context, emit_json, print_table


def apply(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Option(
            "--file",
            "-f",
            exists=True,
            readable=True,
            help="A YAML file (several documents, `---`-separated) or a directory of them; "
            "repeat for more.",
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what would change, and the diff; change nothing."),
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """Create or update contracts, policies and groups from YAML files (--dry-run: the diff).

    Each document (kind: Contract, Policy or PolicyGroup) is named by its metadata.name; the
    report says what changed (created, updated, unchanged). Applying the same files again
    changes nothing. Every document is checked before anything is sent: a bad one changes
    nothing (exit 2, naming the file and line).

    Example: chainproof apply -f contracts/ --dry-run
    """
    from chainproof.client import apply as applying

    docs = applying.read_documents(files)
    api = cli_context(ctx).api()
    changes = applying.plan(api, docs) if dry_run else applying.apply(api, docs)
    if output is Output.json:
        emit_json([c.to_dict() for c in changes])
        return
    verb = {"created": "would create", "updated": "would update"} if dry_run else {}
    rows = [
        {
            "kind": c.kind,
            "name": c.name,
            "action": verb.get(c.action, c.action),
            "revision": "" if c.revision is None else str(c.revision),
        }
        for c in changes
    ]
    print_table(
        rows, [("Kind", "kind"), ("Name", "name"), ("Change", "action"), ("Revision", "revision")]
    )
    if dry_run:
        for c in changes:
            if c.diff:
                typer.echo("".join(c.diff).rstrip("\n"))
