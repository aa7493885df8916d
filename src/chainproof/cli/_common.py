"""What every command module shares: the CLI context, output options and renderers.

Kept light on purpose: only typer and the standard library at import time. Rich tables,
httpx and the client modules are imported when a command runs (import costs:
docs/contributing.md §11).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chainproof.cli._progress import PROGRESS_THRESHOLD as PROGRESS_THRESHOLD
from chainproof.cli._progress import transfer_progress as transfer_progress
from chainproof.errors import InvalidInput, Unauthorized

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient


class Output(StrEnum):
    """``-o``: how a command prints its result."""

    table = "table"
    json = "json"


OutputOpt = Annotated[
    Output,
    typer.Option("--output", "-o", help="Output format: table (for people) or json (for scripts)."),
]

NextOpt = Annotated[
    str | None,
    typer.Option(
        "--next",
        help="Continue where a previous list stopped (the cursor it printed).",
        show_default=False,
    ),
]

StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="CHAINPROOF_STATE_DIR",
        help="Directory of the attestation state file (default: $RUNNER_TEMP or the temp dir).",
        show_default=False,
    ),
]

AnnotationOpt = Annotated[
    list[str] | None,
    typer.Option("--annotation", "-a", help="Annotation as key=value; repeat for more."),
]


@dataclass
class CliContext:
    """Global options plus the seam tests use: pass ``obj=CliContext(transport=...)``
    to ``CliRunner.invoke`` to drive the real client over an ``httpx.MockTransport``."""

    url: str | None = None
    token: str | None = None
    #: The organisation's name (``--org``): a CI job exchanging its ID token names it.
    org: str | None = None
    timeout: float = 30.0
    retries: int | None = None
    backoff: float = 0.5
    retry_timeout: float = 30.0
    #: Retry lines go to stderr, except with ``-o json`` (stderr then holds only an error).
    show_retries: bool = True
    transport: Any = None
    _api: ApiClient | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never show the token
        return f"CliContext(url={self.url!r}, token=***)"

    def api(self, fallback_url: str | None = None) -> ApiClient:
        """The API client for ``--url``/``--token`` (built once, on first use)."""
        if self._api is None:
            url = self.url or fallback_url
            if not self.token:
                url = self._saved_session(url) or url
            if not url:
                raise InvalidInput(
                    "no control plane URL",
                    hint="pass --url or set CHAINPROOF_URL (e.g. http://127.0.0.1:8000)",
                )
            if not self.token:
                raise Unauthorized(
                    "no API token",
                    hint="pass --token, set CHAINPROOF_TOKEN, or `chainproof auth login`",
                )
            from chainproof.client.http import ApiClient

            self._api = ApiClient(
                url,
                self.token,
                timeout=self.timeout,
                retries=self.retries,
                backoff=self.backoff,
                retry_timeout=self.retry_timeout,
                on_retry=_print_retry if self.show_retries else None,
                transport=self.transport,
                org=self.org,
            )
        return self._api

    def _saved_session(self, url: str | None) -> str | None:
        """With no API token, the session ``auth login`` saved (for ``url``, or the server
        signed in to last): take its token; its server's URL."""
        from chainproof.client import credentials

        saved = credentials.find(self.environ, url)
        if saved is None:
            return None
        self.token = saved.token
        return saved.url

    def close(self) -> None:
        """Close the API client if one was built."""
        if self._api is not None:
            self._api.close()
            self._api = None

    @property
    def environ(self) -> Mapping[str, str]:
        """The process environment, read once per command (runner discovery, state dir)."""
        return dict(os.environ)


def _print_retry(line: str) -> None:
    typer.echo(f"chainproof: {line}", err=True)


def cli_context(ctx: typer.Context) -> CliContext:
    """The CliContext the root callback installed."""
    obj = ctx.find_object(CliContext)
    if obj is None:  # a sub-app invoked on its own (tests)
        obj = CliContext()
        ctx.obj = obj
    return obj


# -- parsing ---------------------------------------------------------------------------------
def parse_annotations(values: Sequence[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` → dict; BadParameter (exit 2) on a value without ``=``."""
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not key=value", param_hint="--annotation")
        out[key.strip()] = value
    return out


def parse_duration(text: str) -> int:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` → seconds; BadParameter otherwise."""
    from chainproof.core.moments import duration_seconds

    seconds = duration_seconds(text)
    if not seconds:
        raise typer.BadParameter(
            f"{text!r} is not a duration such as 30d, 12h or 90m", param_hint="--expires"
        )
    return seconds


# -- output ----------------------------------------------------------------------------------
def emit_json(data: Any) -> None:
    """Print JSON for scripts (stdout, indented, nothing else on stdout)."""
    typer.echo(json.dumps(data, indent=2, default=str))


def info(message: str) -> None:
    """A note for people, on stderr so stdout stays parseable."""
    typer.echo(message, err=True)


def announce_next(cursor: str | None, output: Output, noun: str) -> None:
    """Where the next page starts, on stderr: one JSON line ``{"next_cursor": ...}`` with
    ``-o json`` (stdout stays the page), else a hint naming ``--next``."""
    if not cursor:
        return
    if output is Output.json:
        info(json.dumps({"next_cursor": cursor}))
    else:
        info(f"More {noun}: add --next {cursor} for the next page.")


Column = tuple[str, str | Callable[[dict[str, Any]], Any]]


def print_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, title: str = ""
) -> None:
    """A Rich table; each column is (header, key or function of the row)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None, show_lines=False, header_style="bold")
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for row in rows:
        cells = []
        for _, getter in columns:
            value = getter(dict(row)) if callable(getter) else row.get(getter)
            cells.append(_cell(value))
        table.add_row(*cells)
    console = Console(soft_wrap=False)
    if rows:
        console.print(table)
    else:
        console.print(f"No {title.lower() or 'items'}.")


def print_page(
    items: Sequence[Mapping[str, Any]],
    cursor: str | None,
    output: Output,
    columns: Sequence[Column],
    *,
    title: str,
    noun: str,
) -> None:
    """One page of a keyset-paged list: JSON or a table on stdout, then where the next page
    starts (:func:`announce_next`)."""
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, columns, title=title)
    announce_next(cursor, output, noun)


def print_fields(pairs: Sequence[tuple[str, Any]], *, title: str = "") -> None:
    """A two-column table of field / value for ``describe`` commands."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, _cell(value))
    Console(soft_wrap=False).print(table)


def _cell(value: Any) -> str:
    from rich.markup import escape

    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return escape(", ".join(f"{k}={v}" for k, v in value.items()) or "-")
    if isinstance(value, (list, tuple)):
        return escape(", ".join(str(v) for v in value) or "-")
    return escape(str(value))
