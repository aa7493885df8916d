"""The ``chainproof`` command: the root Typer app, its global options and the error wrapper.

The CLI is a shell over :mod:`chainproof.client` and is not a public API. Each command group
lives in its own module. Errors are shown in one place: :class:`_RootGroup` turns any
:class:`~chainproof.errors.ChainproofError` into ``Error: <message>`` (plus the hint) on
stderr, or with ``-o json`` into one JSON document on stderr (:mod:`._errors`), and exits
with the error's code (0 ok; 1 a check failed; 2 bad input or usage; 3 not found / not
authorised; 4 server or network error; 5 clashes with the current state: see
:mod:`chainproof.errors`, docs/architecture.md §8).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from chainproof import __version__
from chainproof.cli import _commands
from chainproof.cli._common import CliContext
from chainproof.cli._errors import report_error, report_usage_error, wants_json
from chainproof.core.chainloop_env import envvars
from chainproof.errors import ChainproofError

_JSON_ERRORS = "chainproof.json_errors"


class _RootGroup(TyperGroup):
    """Root group: the one place a ChainproofError becomes a message and an exit code.

    ``-o`` belongs to each command, and the command's context is gone when its error
    arrives here, so the whole command line is read once, up front, for ``-o json``.

    Commands come from :mod:`._commands`: a command's module is imported when it runs, and
    the root's ``--help`` lists them all from its table without importing any."""

    _listing = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _commands.LazyCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: nothing imported

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        lazy = self.commands
        if self._listing and isinstance(lazy, _commands.LazyCommands):
            if cmd_name in _commands.COMMANDS and not lazy.is_loaded(cmd_name):
                return _commands.stub(cmd_name)  # --help lists it from the table
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_JSON_ERRORS] = wants_json(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        as_json = bool(ctx.meta.get(_JSON_ERRORS))
        try:
            return super().invoke(ctx)
        except ChainproofError as err:
            report_error(err, as_json=as_json)
            ctx.exit(err.exit_code)
        except typer.TyperException as exc:  # Typer's Click usage errors derive from it
            if not as_json:
                raise  # Typer prints it for people
            report_usage_error(exc)
            ctx.exit(getattr(exc, "exit_code", 2))


app = typer.Typer(
    name="chainproof",
    cls=_RootGroup,
    epilog="Docs: chainproof COMMAND --help.  Environment: CHAINPROOF_URL, CHAINPROOF_TOKEN "
    "(or Chainloop's CHAINLOOP_TOKEN).  "
    "Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 not found or not authorised, "
    "4 server or network error, 5 conflicts with the current state.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    # Plain Click help and usage errors for the root: Rich would cost more than the rest of
    # `chainproof --help` (a command group's own --help still uses Rich).
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"chainproof {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", envvar="CHAINPROOF_URL", help="Control plane URL.", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=envvars("CHAINPROOF_TOKEN"),
            help="API token (cp_...).",
            show_default=False,
            show_envvar=True,
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            envvar="CHAINPROOF_ORG",
            help="Organisation name: CI jobs authenticating with their OIDC ID token name it; "
            "people signed in (auth login) pick one of theirs.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", envvar="CHAINPROOF_TIMEOUT", help="Seconds per request.")
    ] = 30.0,
    retry_timeout: Annotated[
        float,
        typer.Option(
            "--retry-timeout",
            envvar="CHAINPROOF_RETRY_TIMEOUT",
            help="Seconds one request may spend retrying a server that is unavailable "
            "(reads and idempotent writes only; 0: no retries).",
        ),
    ] = 30.0,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Attest what your CI builds, store the evidence, verify it anywhere.

    Example (CI): export CHAINPROOF_URL=https://cp.example CHAINPROOF_TOKEN=cp_...;
    chainproof attestation init --workflow build --project shop;
    chainproof attestation add --name image --value ghcr.io/acme/shop@sha256:...;
    chainproof attestation push
    """
    obj = ctx.obj if isinstance(ctx.obj, CliContext) else CliContext()
    obj.url = url or obj.url
    obj.token = token or obj.token
    obj.org = org or obj.org
    obj.timeout = timeout
    obj.retry_timeout = retry_timeout
    obj.show_retries = not ctx.meta.get(_JSON_ERRORS)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def main() -> None:
    """Console entry point (``chainproof``); errors are reported once, by the root group."""
    # httpx imports its own command-line tool (click, rich, pygments: a third of its import
    # time) whenever click is installed; this process never runs it, and a module set to
    # None makes that optional import fail, as httpx expects when its CLI extra is missing.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    # A short client command skips pydantic's plugin discovery (it reads the metadata of
    # every installed distribution); services keep their plugins, as does an explicit setting.
    if not _commands.SERVICES & set(sys.argv[1:]):
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    app(prog_name="chainproof")


if __name__ == "__main__":  # pragma: no cover
    main()
