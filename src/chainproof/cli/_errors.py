"""How the CLI reports a failure: lines for people, or one JSON document with ``-o json``.

With ``-o json`` (any spelling: ``-o json``, ``-ojson``, ``--output json``,
``--output=json``) a failed command prints, on stderr, exactly one JSON object::

    {"error": {"code": "not_found", "message": "run 3f2a not found",
               "hint": null, "details": {}}}

``code`` is the error's stable name (:mod:`chainproof.errors`; ``usage_error`` for a bad
option or argument), ``hint`` is null when there is none, ``details`` an object (often
empty). The exit code is the error's, as without ``-o json``. stdout stays empty.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer

from chainproof.errors import ChainproofError

USAGE_ERROR = "usage_error"


def wants_json(argv: Sequence[str]) -> bool:
    """True when the command line asks for ``-o json``; the last ``-o`` wins (as in Click)
    and ``--`` ends the options."""
    mode: str | None = None
    args = iter(argv)
    for arg in args:
        if arg == "--":
            break
        if arg in ("-o", "--output"):
            mode = next(args, None)
        elif arg.startswith("--output="):
            mode = arg.removeprefix("--output=")
        elif arg.startswith("-o") and not arg.startswith("--"):
            mode = arg.removeprefix("-o")
    return mode == "json"


def error_document(
    code: str, message: str, hint: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON shape of a failure (see the module docstring)."""
    return {"error": {"code": code, "message": message, "hint": hint, "details": details or {}}}


def report_error(err: ChainproofError, *, as_json: bool = False) -> None:
    """Print a chainproof error on stderr: message, details and hint, or their JSON."""
    if as_json:
        _echo_json(error_document(err.code, err.message, err.hint, err.details))
        return
    typer.echo(f"Error: {err.message}", err=True)
    if err.details:
        shown = ", ".join(f"{k}={v}" for k, v in err.details.items())
        typer.echo(f"Details: {shown}", err=True)
    if err.hint:
        typer.echo(f"Hint: {err.hint}", err=True)


def report_usage_error(exc: Any) -> None:
    """A usage error (bad option, value or argument) as the JSON error document."""
    ctx = getattr(exc, "ctx", None)
    hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    _echo_json(error_document(USAGE_ERROR, message, hint))


def _echo_json(document: dict[str, Any]) -> None:
    typer.echo(json.dumps(document, default=str), err=True)
