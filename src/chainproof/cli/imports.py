"""``chainproof import``: bring attestations made by another tool into the organisation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chainproof.cli._common import Output, OutputOpt, cli_context, emit_json, info, print_table
from chainproof.errors import InvalidInput, VerificationError

app = typer.Typer(
    help="Bring attestations made by Chainloop into the organisation (verified first).",
    no_args_is_help=True,
)


@app.command("chainloop")
def chainloop(
    ctx: typer.Context,
    export: Annotated[
        Path,
        typer.Argument(help="The export: bundles/*.json (or *.json) and cas/ with the blobs."),
    ],
    ca: Annotated[
        list[Path],
        typer.Option(
            "--ca",
            help="PEM certificate of the Chainloop CA the bundles must chain to (repeatable).",
        ),
    ],
    cas_dir: Annotated[
        Path | None,
        typer.Option("--cas-dir", help="The blobs' directory, if not EXPORT/cas (any names)."),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Import a Chainloop export: each bundle verified, its run recorded (owner or admin).

    Each bundle must verify against --ca (as `chainproof verify --ca` checks it); its project,
    version and workflow are created when missing, a finished run records the bundle, its
    materials and the policy verdict Chainloop wrote, and the blobs of its CAS materials
    found under the CAS directory are uploaded. Running it again imports nothing twice.
    Exit 1 when a bundle failed (the others are still imported).

    Example: chainproof import chainloop export/ --ca chainloop-ca.pem
    """
    from chainproof.client.imports import find_blobs, find_bundles, import_export

    try:
        ca_pems = [path.read_bytes() for path in ca]
    except OSError as err:
        raise InvalidInput(f"cannot read {err.filename}: {err.strerror}") from None
    bundles = find_bundles(export)
    blobs = find_blobs(cas_dir if cas_dir is not None else export / "cas")
    if cas_dir is not None and not cas_dir.is_dir():
        raise InvalidInput(f"--cas-dir {cas_dir} is not a directory")
    api = cli_context(ctx).api()
    quiet = output is Output.json

    def progress(position: int, total: int, row: dict[str, Any]) -> None:
        if not quiet:
            info(f"[{position}/{total}] {row['bundle']}: {_said(row)}")

    report = import_export(api, bundles, blobs, ca_pems, progress=progress)
    summary = report.to_dict()
    if quiet:
        emit_json(summary)
    else:
        print_table(
            report.rows,
            [
                ("Bundle", "bundle"),
                ("Status", "status"),
                ("Run", "run_id"),
                ("Project", "project"),
                ("Workflow", "workflow"),
                ("Uploaded", "uploaded"),
            ],
            title=(
                f"{summary['imported']} imported, {summary['already_imported']} already "
                f"imported, {summary['failed']} failed, {summary['uploaded_blobs']} blob(s) "
                "uploaded"
            ),
        )
    if summary["failed"]:
        raise VerificationError(f"{summary['failed']} of {len(bundles)} bundle(s) not imported")


def _said(row: dict[str, Any]) -> str:
    if row["status"] == "failed":
        return f"failed: {row['error']}"
    missing = row.get("missing_blobs") or []
    note = f", {len(missing)} blob(s) not in the export" if missing else ""
    return (
        f"{row['status']} as run {row['run_id']} ({row['project']}/{row['workflow']}), "
        f"{row['uploaded']} blob(s) uploaded{note}"
    )
