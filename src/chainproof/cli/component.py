"""``chainproof component search``: which runs shipped a component (docs/discover.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    NextOpt,
    Output,
    OutputOpt,
    cli_context,
    print_page,
)

app = typer.Typer(
    help="Search the components of every SBOM the organisation pushed (purl, name, license).",
    no_args_is_help=True,
)


def _images(row: dict[str, Any]) -> str:
    return " ".join(str(i["digest"])[:19] for i in row.get("images") or [])


COLUMNS: list[tuple[str, Any]] = [
    ("Component", lambda r: r.get("purl") or f"{r.get('name')}@{r.get('version') or ''}"),
    ("Licenses", lambda r: " ".join(r.get("licenses") or [])),
    ("Project/Workflow", lambda r: f"{r.get('project')}/{r.get('workflow')}"),
    ("Version", "project_version"),
    ("Run", lambda r: str(r["run"]["id"])[:8]),
    ("Status", lambda r: r["run"]["status"]),
    ("Time", lambda r: str(r["run"].get("created_at") or "")[:16].replace("T", " ")),
    ("Images", _images),
]


@app.command("search")
def search(
    ctx: typer.Context,
    purl: Annotated[
        str | None,
        typer.Option("--purl", help="A package URL; without @version, every version."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The component's name.")] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="With --name or --purl: a range such as '>=2.0,<2.17.1', in the "
            "ecosystem's ordering (Maven, PEP 440, semver, ...).",
        ),
    ] = None,
    license_: Annotated[
        str | None, typer.Option("--license", help="An SPDX license id, e.g. GPL-3.0-only.")
    ] = None,
    latest: Annotated[
        bool,
        typer.Option("--latest", help="Only each workflow's latest successful run (ships now)."),
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many per page.")] = 200,
    next_page: NextOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Components of the organisation's SBOMs, newest run first, with the project, workflow,
    version, run, time and image digests that shipped them. When more follow, the next
    page's cursor goes to stderr; pass it back with --next and the same filters.

    Example: chainproof component search --name log4j-core --version '>=2.0,<2.17.1' --latest
    """
    items, cursor = (
        cli_context(ctx)
        .api()
        .search_components_page(
            purl=purl,
            name=name,
            version=version,
            license=license_,
            latest=latest,
            limit=limit,
            cursor=next_page,
        )
    )
    print_page(items, cursor, output, COLUMNS, title="Components", noun="components")
