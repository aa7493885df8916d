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

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from chainproof import __version__
from chainproof.cli import (
    api_token,
    artifact,
    attestation,
    audit,
    auth,
    cas,
    cas_backend,
    drift,
    keys,
    org,
    policy,
    project,
    server,
    server_migrate,
    signing_key,
    workflow,
)
from chainproof.cli import verify as verify_command
from chainproof.cli._common import CliContext
from chainproof.cli._errors import report_error, report_usage_error, wants_json
from chainproof.errors import ChainproofError

_JSON_ERRORS = "chainproof.json_errors"


class _RootGroup(TyperGroup):
    """Root group: the one place a ChainproofError becomes a message and an exit code.

    ``-o`` belongs to each command, and the command's context is gone when its error
    arrives here, so the whole command line is read once, up front, for ``-o json``."""

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
    epilog="Docs: chainproof COMMAND --help.  Environment: CHAINPROOF_URL, CHAINPROOF_TOKEN.  "
    "Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 not found or not authorised, "
    "4 server or network error, 5 conflicts with the current state.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(server.app, name="server")
server.app.add_typer(server_migrate.app, name="migrate")
app.add_typer(auth.app, name="auth")
app.add_typer(org.app, name="org")
app.add_typer(project.app, name="project")
app.add_typer(workflow.app, name="workflow")
app.add_typer(api_token.app, name="api-token")
app.add_typer(keys.app, name="keys")
app.add_typer(signing_key.app, name="signing-key")
app.add_typer(attestation.app, name="attestation")
app.add_typer(artifact.app, name="artifact")
app.add_typer(cas_backend.app, name="cas-backend")
app.add_typer(cas.app, name="cas")
app.add_typer(policy.app, name="policy")
app.add_typer(drift.app, name="drift")
app.add_typer(audit.app, name="audit")
app.command("verify")(verify_command.verify)


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
            envvar="CHAINPROOF_TOKEN",
            help="API token (cp_...).",
            show_default=False,
            show_envvar=True,
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
    obj.timeout = timeout
    obj.retry_timeout = retry_timeout
    obj.show_retries = not ctx.meta.get(_JSON_ERRORS)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def main() -> None:
    """Console entry point (``chainproof``); errors are reported once, by the root group."""
    app(prog_name="chainproof")


if __name__ == "__main__":  # pragma: no cover
    main()
