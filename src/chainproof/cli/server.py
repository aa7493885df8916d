"""``chainproof server``: create and run the embedded control plane (SQLite + filesystem CAS)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chainproof.cli._common import Output, OutputOpt, emit_json, info, print_fields

app = typer.Typer(
    help="Create and run the embedded control plane (one process, data in one directory).",
    no_args_is_help=True,
)

DataDirOpt = Annotated[
    Path, typer.Option("--data-dir", help="Directory holding the database, CAS blobs and keys.")
]


@app.command("init")
def init(
    data_dir: DataDirOpt,
    org: Annotated[str, typer.Option("--org", help="Name of the first organisation.")] = "default",
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="CHAINPROOF_DATABASE_URL",
            help="SQLAlchemy URL (default: SQLite in the data dir).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Create the database, the organisation and its owner token (printed once).

    Example: chainproof server init --data-dir ./cp-data --org acme -o json
    """
    from chainproof.server.bootstrap import init_data_dir

    result = init_data_dir(data_dir, org, database_url)
    if output is Output.json:
        emit_json(result)
        return
    org_info = result.get("org") or {}
    print_fields(
        [
            ("Organisation", org_info.get("name", org)),
            ("Org id", org_info.get("id")),
            ("Data dir", result.get("data_dir", str(data_dir))),
            ("Database", result.get("database_url")),
            ("Owner token", result["token"]),
        ],
        title="chainproof server initialised",
    )
    info("The owner token is shown only now: store it (e.g. export CHAINPROOF_TOKEN=...).")
    info(f"Next: chainproof server start --data-dir {data_dir}")


@app.command("start")
def start(
    data_dir: DataDirOpt,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8000,
) -> None:
    """Serve the API, CAS and dashboard from a data dir made by `server init`.

    Example: chainproof server start --data-dir ./cp-data --port 8000
    """
    from chainproof.server.bootstrap import serve
    from chainproof.server.settings import Settings

    info(f"chainproof control plane on http://{host}:{port} (data: {data_dir})")
    serve(Settings.embedded(data_dir, host=host, port=port))
