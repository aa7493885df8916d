"""``chainproof ci-identity``: trust CI jobs by their OIDC ID token instead of a stored token."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from chainproof.cli._common import (
    Column,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    info,
    print_table,
)

app = typer.Typer(
    help="Trust CI jobs by their OIDC ID token (no stored API token): add, list, remove.",
    no_args_is_help=True,
)


class Provider(StrEnum):
    github = "github"
    gitlab = "gitlab"
    oidc = "oidc"


COLUMNS: list[Column] = [
    ("Name", "name"),
    ("Provider", "provider"),
    ("Issuer", "issuer"),
    ("Audience", "audience"),
    ("Rules", lambda row: "; ".join(row.get("rules") or [])),
    ("Project", "project"),
    ("Workflow", "workflow"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="A name for this trust, e.g. shop-release.")],
    provider: Annotated[
        Provider,
        typer.Option(
            "--provider",
            help="github (issuer https://token.actions.githubusercontent.com), gitlab "
            "(https://gitlab.com) or oidc (any issuer; give --issuer).",
        ),
    ],
    project: Annotated[str, typer.Option("--project", help="Project the jobs attest to.")],
    workflow: Annotated[str, typer.Option("--workflow", help="Workflow the jobs attest to.")],
    rule: Annotated[
        list[str],
        typer.Option(
            "--rule",
            help="A claim rule every accepted ID token satisfies: 'CLAIM == VALUE' or 'CLAIM "
            "glob PATTERN' (* and ? stop at /, ** does not). Repeat: all must hold.",
        ),
    ],
    issuer: Annotated[
        str | None,
        typer.Option(
            "--issuer",
            help="Issuer URL, exactly as the tokens' iss claim (self-managed GitLab, oidc).",
            show_default=False,
        ),
    ] = None,
    audience: Annotated[
        str,
        typer.Option("--audience", help="The aud the job requests its ID token for."),
    ] = "chainproof",
    output: OutputOpt = Output.table,
) -> None:
    """Trust the jobs of a CI issuer whose ID-token claims satisfy every --rule: they
    exchange their ID token for a short-lived token scoped to --project/--workflow.

    Example: chainproof ci-identity add --name skynet-release --provider github
    --project skynet --workflow release --rule 'repository == cyberdyne/skynet'
    --rule 'workflow_ref glob cyberdyne/skynet/.github/workflows/release.yml@refs/tags/*'
    """
    created = (
        cli_context(ctx)
        .api()
        .create_ci_identity(
            name,
            provider=provider.value,
            project=project,
            workflow=workflow,
            rules=rule,
            issuer=issuer,
            audience=audience,
        )
    )
    if output is Output.json:
        emit_json(created)
        return
    print_table([created], COLUMNS, title="CI identity added")
    info("Jobs it accepts run `chainproof attestation init` with --org and no CHAINPROOF_TOKEN.")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the trusted CI issuers and their rules.

    Example: chainproof ci-identity list -o json
    """
    items = cli_context(ctx).api().list_ci_identities()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="CI identities")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Name of the CI identity.")],
) -> None:
    """Stop trusting a CI issuer registration (tokens already exchanged run out soon).

    Example: chainproof ci-identity remove --name skynet-release
    """
    cli_context(ctx).api().remove_ci_identity(name)
    info(f"CI identity {name} removed.")
