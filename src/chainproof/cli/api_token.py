"""``chainproof api-token``: robot tokens for CI jobs, and people's personal tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli._common import (
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    info,
    parse_duration,
    print_fields,
    print_table,
)

app = typer.Typer(
    help="Create, list and revoke API tokens: robots for CI jobs, personal ones for people.",
    no_args_is_help=True,
)

COLUMNS = [
    ("ID", "id"),
    ("Name", "name"),
    ("Kind", "kind"),
    ("Role", "role"),
    ("Project", "project"),
    ("Workflow", "workflow"),
    ("Expires", "expires_at"),
    ("Revoked", "revoked_at"),
    ("Last used", "last_used_at"),
]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. shop-ci.")],
    project: Annotated[str | None, typer.Option("--project", help="Restrict to a project.")] = None,
    workflow: Annotated[
        str | None, typer.Option("--workflow", help="Restrict to a workflow.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime such as 30d, 12h (default: none).")
    ] = None,
    allow_policy_bypass: Annotated[
        bool,
        typer.Option(
            "--allow-policy-bypass",
            help="Let this token's pushes through gated policy violations with "
            "`attestation push --exception-bypass-policy-check` (each use is audited).",
        ),
    ] = False,
    personal: Annotated[
        bool,
        typer.Option(
            "--personal",
            help="A token of your own (signed in with `auth login`): your role or --role, "
            "expiring (--expires, default 30d, at most 365d); it follows your membership.",
        ),
    ] = False,
    role: Annotated[
        str | None,
        typer.Option("--role", help="With --personal: a role below yours.", show_default=False),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Create a robot token, or with --personal a token of your own, and print its secret
    (shown only once).

    Example: chainproof api-token create --name shop-ci --project shop --expires 30d -o json
    """
    seconds = parse_duration(expires) if expires else None
    if personal:
        if project or workflow or allow_policy_bypass:
            raise typer.BadParameter("a personal token takes only --name, --role and --expires")
        mine = (
            cli_context(ctx)
            .api()
            .create_personal_token(name, role=role, expires_in_seconds=seconds)
        )
        _show_created(mine, output)
        return
    if role:
        raise typer.BadParameter("--role goes with --personal (robots have no role)")
    created = (
        cli_context(ctx)
        .api()
        .create_token(
            name,
            project=project,
            workflow=workflow,
            expires_in_seconds=seconds,
            policy_bypass=allow_policy_bypass,
        )
    )
    _show_created(created, output)


def _show_created(created: dict[str, object], output: Output) -> None:
    if output is Output.json:
        emit_json(created)
        return
    print_fields(
        [
            ("ID", created.get("id")),
            ("Role", created.get("role")),
            ("Name", created.get("name")),
            ("Project", created.get("project")),
            ("Workflow", created.get("workflow")),
            ("Expires", created.get("expires_at")),
            ("Policy bypass", created.get("policy_bypass")),
            ("Token", created.get("token")),
        ],
        title="API token created",
    )
    info("The token is shown only now: store it as a secret (CHAINPROOF_TOKEN).")


@app.command("list")
def list_(
    ctx: typer.Context,
    personal: Annotated[
        bool, typer.Option("--personal", help="Only your own tokens (every role may list them).")
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """List API tokens with their last use (never their secrets): the organisation's
    (owner/admin), or your own with --personal.

    Example: chainproof api-token list -o json
    """
    api = cli_context(ctx).api()
    items = api.list_personal_tokens() if personal else api.list_tokens()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="API tokens")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Option("--id", help="Token ID (see api-token list).")],
) -> None:
    """Revoke a token; it stops working on its next request.

    Example: chainproof api-token revoke --id 7d0e...
    """
    cli_context(ctx).api().revoke_token(token_id)
    info(f"Token {token_id} revoked.")
