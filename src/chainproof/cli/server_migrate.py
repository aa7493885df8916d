"""``chainproof server migrate``: upgrade a data dir's database to this release's schema, or
say where it stands.

``server start`` upgrades the database itself by default. Where several processes share one
database, turn that off (``CHAINPROOF_AUTO_MIGRATE=false``) and run ``server migrate upgrade``
once per release, before starting the new processes (docs/upgrading.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chainproof.cli._common import Output, OutputOpt, emit_json, info, print_fields, print_table
from chainproof.cli.server import DatabaseUrlOpt, DataDirOpt, server_extra

if TYPE_CHECKING:
    from chainproof.server.settings import Settings

app = typer.Typer(
    help="Upgrade the database schema, or show its revision and the shipped migrations.",
    no_args_is_help=True,
)


def _settings(data_dir: Path, database_url: str | None) -> Settings:
    from chainproof.server.settings import Settings

    return Settings.of_data_dir(data_dir, database_url=database_url)


@app.command("upgrade")
def upgrade(
    data_dir: DataDirOpt, database_url: DatabaseUrlOpt = None, output: OutputOpt = Output.table
) -> None:
    """Run the migrations the database lacks (none: nothing to do). Back up the database first.

    Example: chainproof server migrate upgrade --data-dir ./cp-data
    """
    with server_extra():
        from chainproof.server.bootstrap import upgrade_database

        result = upgrade_database(_settings(data_dir, database_url))
    if output is Output.json:
        emit_json(result)
        return
    applied = result["applied"]
    print_fields(
        [
            ("Database", result["database_url"]),
            ("From", result["from"]),
            ("To", result["to"]),
            ("Applied", ", ".join(applied) or "none: already at the head"),
        ],
        title="chainproof database upgraded" if applied else "chainproof database up to date",
    )


@app.command("current")
def current(
    data_dir: DataDirOpt, database_url: DatabaseUrlOpt = None, output: OutputOpt = Output.table
) -> None:
    """Show the database's revision and whether it is at this release's head.

    Example: chainproof server migrate current --data-dir ./cp-data -o json
    """
    with server_extra():
        from chainproof.server.bootstrap import database_status

        result = database_status(_settings(data_dir, database_url))
    if output is Output.json:
        emit_json(result)
        return
    print_fields(
        [
            ("Database", result["database_url"]),
            ("Revision", result["current"]),
            ("Head", result["head"]),
            ("At head", "yes" if result["at_head"] else "no"),
            ("Pending", ", ".join(result["pending"]) or "none"),
        ],
        title="chainproof database",
    )
    if not result["known"]:
        info("This revision is newer than this release of chainproof knows.")
    elif result["pending"]:
        info(f"Next: chainproof server migrate upgrade --data-dir {data_dir}")


@app.command("history")
def history(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Also mark which revisions this data dir's database has applied.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrlOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List the migrations this release ships, oldest first.

    Example: chainproof server migrate history --data-dir ./cp-data
    """
    with server_extra():
        from chainproof.server.db.migrate import history as shipped

        revisions = shipped()
        if data_dir is not None:
            from chainproof.server.bootstrap import database_status

            _mark(revisions, database_status(_settings(data_dir, database_url)))
    if output is Output.json:
        emit_json(revisions)
        return
    columns: list[tuple[str, Any]] = [
        ("Revision", "revision"),
        ("Follows", "down_revision"),
        ("Message", "message"),
    ]
    if data_dir is not None:
        columns.append(("Applied", lambda r: "yes" if r["applied"] else "no"))
    print_table(revisions, columns, title="Migrations")


def _mark(revisions: list[dict[str, Any]], found: dict[str, Any]) -> None:
    """Set ``applied`` on each revision: everything up to the database's current one."""
    pending = set(found["pending"])
    for revision in revisions:
        revision["applied"] = bool(found["current"]) and revision["revision"] not in pending
