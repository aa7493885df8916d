"""``chainproof discover sha256:DIGEST``: the runs whose attestations name a digest, and what
else they name, as a tree (docs/discover.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from chainproof.cli._common import cli_context, emit_json


class TreeOutput(StrEnum):
    """``-o``: a tree for people, JSON for scripts."""

    tree = "tree"
    json = "json"


def _digest_label(node: dict[str, Any]) -> str:
    where = node.get("repository")
    if where and node.get("tag"):
        where = f"{where}:{node['tag']}"
    about = " ".join(
        str(x) for x in (node.get("role"), node.get("kind"), where or node.get("name")) if x
    )
    return f"[bold]{node['digest']}[/bold] {about}".rstrip()


def _run_label(run: dict[str, Any]) -> str:
    version = f" {run['project_version']}" if run.get("project_version") else ""
    roles = ",".join(run.get("roles") or [])
    return (
        f"run {run['id'][:8]} {run['project']}/{run['workflow']}{version} "
        f"{run['status']} {str(run.get('created_at') or '')[:16].replace('T', ' ')} (as {roles})"
    )


def _grow(branch: Any, node: dict[str, Any]) -> None:
    for run in node.get("runs") or []:
        run_branch = branch.add(_run_label(run))
        for ref in run.get("references") or []:
            _grow(run_branch.add(_digest_label(ref)), ref)


def discover(
    ctx: typer.Context,
    digest: Annotated[str, typer.Argument(help="The digest, sha256:<64 hex characters>.")],
    depth: Annotated[
        int, typer.Option("--depth", min=1, max=5, help="How many hops to follow.")
    ] = 1,
    output: Annotated[
        TreeOutput, typer.Option("--output", "-o", help="tree or json.")
    ] = TreeOutput.tree,
) -> None:
    """Which runs produced or used a digest, and what else they attested (a tree).

    The runs whose attestations name DIGEST (as subject or material), what else those
    attestations name, and, with --depth 2 or more, the runs that name those in turn.

    A digest no attestation of your organisation names is not found (exit 3). Pushes are
    indexed within seconds by the server's worker.

    Example: chainproof discover sha256:8d9001d3... --depth 2
    """
    from chainproof.core.digest import Digest

    # Refused here, before any request: a typo is not worth a round trip (or a login).
    root = str(Digest.parse(digest))
    found = cli_context(ctx).api().discover(root, depth)
    if output is TreeOutput.json:
        emit_json(found)
        return
    from rich.console import Console
    from rich.tree import Tree

    tree = Tree(_digest_label({**found, "name": ", ".join(found.get("names") or [])}))
    _grow(tree, found)
    Console().print(tree)
