"""Rendering of ``chainproof org overview``: totals, then one table per project."""

from __future__ import annotations

from typing import Any

from chainproof.cli._common import Output, announce_next, emit_json, print_fields, print_table

_STANDING = ("blocked", "failing", "lagging", "unmanaged")


def show(data: dict[str, Any], output: Output) -> None:
    """Print the overview as JSON (the API's answer as is) or as tables."""
    cursor = data.get("next_cursor")
    if output is Output.json:
        emit_json(data)
        announce_next(cursor, output, "workflows")
        return
    totals = data.get("totals", {})
    print_fields(
        [(key.replace("_", " ").capitalize(), n) for key, n in totals.items()], title="Organisation"
    )
    columns: list[tuple[str, Any]] = [
        ("Workflow", "name"),
        ("Owner", "owner"),
        ("Contract", lambda w: f"{w['contract']['name']} r{w['contract']['revision']}"),
        ("Last run", _last_run),
        ("Recent", "recent"),
        ("Compliance", _percent),
        ("Standing", _standing),
    ]
    if "open_findings" in totals:
        columns.append(("Findings", "open_findings"))
    for project in data.get("projects", []):
        print_table(project["workflows"], columns, title=f"Project {project['name']}")
    announce_next(cursor, output, "workflows")


def _last_run(w: dict[str, Any]) -> str:
    run = w.get("last_run")
    if not run:
        return "never"
    return f"{run['status']} {run['created_at']} ({run['runner_type']})"


def _percent(w: dict[str, Any]) -> str:
    share = w.get("compliance")
    return "-" if share is None else f"{share:.0%}"


def _standing(w: dict[str, Any]) -> str:
    flags = [name for name in _STANDING if w.get(name)]
    if w.get("compliant"):
        flags.insert(0, "compliant")
    return ", ".join(flags) or "-"
