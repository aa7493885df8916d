"""``chainproof auth``: sign a person in and out, and show who the credentials are."""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli._common import (
    CliContext,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    info,
    print_fields,
    print_table,
)

app = typer.Typer(
    help="Sign in, sign out, and check the credentials the CLI uses.", no_args_is_help=True
)


@app.command("login")
def login(
    ctx: typer.Context,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help="Identity provider name (when the server has several).",
            show_default=False,
        ),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            "--client-secret",
            envvar="CHAINPROOF_OIDC_CLIENT_SECRET",
            help="Only for providers that demand a client secret from devices.",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Sign in with the server's identity provider (OAuth 2.0 device flow): open the URL it
    prints, enter the code, and the session is saved in your config dir.

    Example: chainproof --url https://cp.example auth login
    """
    from chainproof.client import credentials, signin
    from chainproof.client.http import ApiClient

    cli = cli_context(ctx)
    url = cli.url or _current_url(cli)
    with ApiClient(url, None, timeout=cli.timeout, transport=cli.transport) as api:
        chosen = signin.choose_provider(api.identity_providers(), provider)

        def prompt(uri: str, code: str, complete: str | None) -> None:
            info(f"To sign in, open {uri} and enter the code {code}")
            if complete:
                info(f"(or open {complete})")
            info("Waiting for you to approve...")

        id_token = signin.device_id_token(
            chosen, prompt=prompt, client_secret=client_secret, timeout=cli.timeout,
            transport=cli.transport,
        )  # fmt: skip
        answer = api.create_session(id_token)
        saved = credentials.SavedSession(
            url=api.base_url,
            token=answer["token"],
            expires_at=answer.get("expires_at"),
            email=answer["user"].get("email"),
        )
        path = credentials.save(cli.environ, saved)
    shown = {k: v for k, v in answer.items() if k != "token"}
    if output is Output.json:
        emit_json({**shown, "credentials": str(path)})
        return
    info(f"Signed in as {saved.email} until {saved.expires_at}; session saved in {path}")
    for org in answer.get("joined") or []:
        info(f"Joined organisation {org} (invitation accepted)")


def _current_url(cli: CliContext) -> str:
    """With no --url, the server signed in to last."""
    from chainproof.client import credentials
    from chainproof.errors import InvalidInput

    saved = credentials.find(cli.environ, None, allow_expired=True)
    if saved is None:
        raise InvalidInput("no control plane URL", hint="pass --url or set CHAINPROOF_URL")
    return saved.url


@app.command("logout")
def logout(ctx: typer.Context) -> None:
    """Sign out: revoke the session on the server and delete it from your config dir.

    Example: chainproof auth logout
    """
    from chainproof.client import credentials
    from chainproof.client.http import ApiClient
    from chainproof.errors import Unauthorized

    cli = cli_context(ctx)
    saved = credentials.find(cli.environ, cli.url, allow_expired=True)
    if saved is None:
        info("Not signed in.")
        return
    with ApiClient(saved.url, saved.token, timeout=cli.timeout, transport=cli.transport) as api:
        try:
            api.sign_out()
        except Unauthorized:
            pass  # revoked or expired already: forgetting it locally is all that is left
    credentials.forget(cli.environ, saved.url)
    info(f"Signed out of {saved.url}.")


@app.command("whoami")
def whoami(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """Who you are: the signed-in person, their organisations and roles (or, with an API
    token, the token's organisation and role).

    Example: chainproof auth whoami -o json
    """
    cli = cli_context(ctx)
    api = cli.api()
    if not (cli.token or "").startswith("cps_"):
        status(ctx, output)
        return
    me = api.describe_session()
    if output is Output.json:
        emit_json(me)
        return
    user, session = me.get("user") or {}, me.get("session") or {}
    print_fields(
        [
            ("Email", user.get("email")),
            ("Name", user.get("name")),
            ("Identity provider", user.get("issuer")),
            ("Session expires", session.get("expires_at")),
        ],
        title="Signed in",
    )
    print_table(
        me.get("orgs") or [], [("Organisation", "name"), ("Role", "role")], title="Organisations"
    )


@app.command("status")
def status(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """Show the organisation and token behind --token / CHAINPROOF_TOKEN.

    Example: CHAINPROOF_TOKEN=cp_... chainproof auth status -o json
    """
    me = cli_context(ctx).api().whoami()
    if output is Output.json:
        emit_json(me)
        return
    org, tok = me.get("org") or {}, me.get("token") or {}
    print_fields(
        [
            ("Organisation", f"{org.get('name')} ({org.get('id')})"),
            ("Token", tok.get("name")),
            ("Token id", tok.get("id")),
            ("Kind", tok.get("kind")),
            ("Role", tok.get("role")),
            ("Project", tok.get("project")),
            ("Workflow", tok.get("workflow")),
        ],
        title="Authenticated",
    )
