"""``chainproof org``: the organisation the token belongs to, and its settings."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    Column,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    parse_duration,
    print_fields,
    print_table,
)
from chainproof.cli.org_people import invite_app, member_app

app = typer.Typer(help="Describe and configure your organisation.", no_args_is_help=True)


def _show(org: dict[str, object], output: Output, title: str) -> None:
    if output is Output.json:
        emit_json(org)
        return
    print_fields(
        [
            ("Name", org.get("name")),
            ("ID", org.get("id")),
            ("Implicit creation", org.get("allow_implicit_creation")),
            ("Policy strategy", org.get("policy_strategy")),
            ("Required policies", _required_summary(org.get("required_policies"))),
            ("Contract grace", _grace_summary(org.get("contract_grace_seconds"))),
            ("Default contract", org.get("default_contract") or "none (an empty one)"),
            ("Released versions", _released_summary(org.get("refuse_released_versions"))),
            ("Unused tokens", _unused_summary(org.get("revoke_unused_tokens_seconds"))),
            ("Policy hosts", _hosts_summary(org.get("policy_allowed_hostnames"))),
            ("Created", org.get("created_at")),
        ],
        title=title,
    )


def _hosts_summary(hosts: object) -> str:
    if not isinstance(hosts, list) or not hosts:
        return "none (http.send is off)"
    return ", ".join(str(h) for h in hosts)


def _released_summary(refused: object) -> str:
    return "refused (no new runs)" if refused else "accepted"


def _unused_summary(seconds: object) -> str:
    if not isinstance(seconds, int) or not seconds:
        return "kept"
    return f"revoked after {_duration(seconds)} unused (owners' tokens kept)"


def _grace_summary(seconds: object) -> str:
    if not isinstance(seconds, int) or not seconds:
        return "none (older contract revisions stay accepted)"
    return _duration(seconds)


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_grace(text: str, option: str = "--contract-grace") -> int:
    """``14d``, ``36h``, ``90m``, ``45s``, ``2w`` → seconds, ``0`` → 0 (disables)."""
    if text.strip() in ("0", "0s", "0d", "0h"):
        return 0
    try:
        return parse_duration(text)
    except typer.BadParameter:
        raise typer.BadParameter(
            f"{text!r} is not a duration such as 14d, 36h or 0 (disables it)",
            param_hint=option,
        ) from None


def _required_summary(required: object) -> str:
    if not isinstance(required, dict) or not required:
        return "none"
    policies = required.get("policies") or {}
    refs = [
        str(a.get("ref") or "embedded")
        for key in ("materials", "attestation")
        for a in policies.get(key) or []
    ]
    refs += [f"group {a.get('ref')}" for a in required.get("policyGroups") or []]
    return ", ".join(refs) or "none"


@app.command("describe")
def describe(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """Show the organisation and its settings.

    Example: chainproof org describe -o json
    """
    _show(cli_context(ctx).api().get_org(), output, "Organisation")


class Strategy(StrEnum):
    advisory = "advisory"
    enforced = "enforced"


@app.command("overview")
def overview(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=500, help="Workflows per page.")
    ] = 100,
    next_page: Annotated[
        str | None,
        typer.Option("--next", help="The next page (the cursor a previous call printed)."),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """The organisation at a glance: totals (workflows integrated, compliant, lagging,
    failing, unmanaged, blocked), then per project each workflow's owner, contract and
    newest revision, last run, recent outcomes and compliance over its last runs, a page
    of --limit workflows at a time (the cursor of the next page goes to stderr).

    Example: chainproof org overview -o json
    """
    from chainproof.cli.overview import show

    api = cli_context(ctx).api()
    show(api.get_overview(project=project, limit=limit, cursor=next_page), output)


@app.command("update")
def update(
    ctx: typer.Context,
    prevent_implicit: Annotated[
        bool | None,
        typer.Option(
            "--prevent-implicit-workflow-creation/--allow-implicit-workflow-creation",
            help="Whether `attestation init` may create unknown projects and workflows.",
            show_default=False,
        ),
    ] = None,
    policy_strategy: Annotated[
        Strategy | None,
        typer.Option(
            "--policy-strategy",
            help="What a violation of a policy without its own `gate` does: advisory "
            "(recorded) or enforced (the push is refused and the run blocked).",
            show_default=False,
        ),
    ] = None,
    required_policies: Annotated[
        Path | None,
        typer.Option(
            "--required-policies",
            exists=True,
            dir_okay=False,
            help="YAML/JSON file with `policies` (materials, attestation) and `policyGroups`, "
            "as in a contract: evaluated on every run, whatever its contract says.",
        ),
    ] = None,
    clear_required: Annotated[
        bool,
        typer.Option("--clear-required-policies", help="Remove the required policies."),
    ] = False,
    contract_grace: Annotated[
        str | None,
        typer.Option(
            "--contract-grace",
            help="How long a new contract revision waits before runs on older revisions are "
            "refused (init pinned to one, push), e.g. 14d or 36h; 0 disables.",
            show_default=False,
        ),
    ] = None,
    default_contract: Annotated[
        str | None,
        typer.Option(
            "--default-contract",
            help="Contract attached to workflows created implicitly (by `attestation init`) "
            "or without --contract, instead of a new empty one.",
            show_default=False,
        ),
    ] = None,
    clear_default_contract: Annotated[
        bool,
        typer.Option("--clear-default-contract", help="Go back to empty contracts."),
    ] = False,
    refuse_released: Annotated[
        bool | None,
        typer.Option(
            "--refuse-released-versions/--allow-released-versions",
            help="Whether `attestation init` and `attestation push` are refused on a project "
            "version that was released.",
            show_default=False,
        ),
    ] = None,
    revoke_unused: Annotated[
        str | None,
        typer.Option(
            "--revoke-unused-tokens-after",
            help="Revoke API tokens (but owners') that nobody used for this long, e.g. 90d "
            "(at least 1d); 0 keeps them.",
            show_default=False,
        ),
    ] = None,
    allowed_hostnames: Annotated[
        str | None,
        typer.Option(
            "--policy-allowed-hostnames",
            "--policies-allowed-hostnames",
            help="Hosts policies' http.send may reach, comma-separated (replaces the list; "
            "'' allows none, the default).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Change organisation settings (owner or admin token).

    Example: chainproof org update --policy-strategy enforced --contract-grace 14d

    Example: chainproof org update --policy-allowed-hostnames api.osv.dev,www.cisa.gov
    """
    from chainproof.policy.network import parse_hostnames

    allow = None if prevent_implicit is None else not prevent_implicit
    document = _read_required(required_policies) if required_policies else None
    grace = parse_grace(contract_grace) if contract_grace is not None else None
    hosts = None if allowed_hostnames is None else parse_hostnames([allowed_hostnames])
    unused = None
    if revoke_unused is not None:
        unused = parse_grace(revoke_unused, "--revoke-unused-tokens-after")
    updated = (
        cli_context(ctx)
        .api()
        .update_org(
            allow_implicit_creation=allow,
            policy_strategy=policy_strategy.value if policy_strategy else None,
            required_policies=document,
            clear_required_policies=clear_required,
            contract_grace_seconds=grace,
            default_contract=default_contract,
            clear_default_contract=clear_default_contract,
            refuse_released_versions=refuse_released,
            revoke_unused_tokens_seconds=unused,
            policy_allowed_hostnames=hosts,
        )
    )
    _show(updated, output, "Updated")


def _read_required(path: Path) -> dict[str, Any]:
    """The required-policies document (YAML or JSON; a mapping)."""
    import yaml

    from chainproof.errors import InvalidInput

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InvalidInput(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: must be a mapping with `policies` and/or `policyGroups`")
    return data


ca_app = typer.Typer(
    help="The organisation's signing CA: list it and rotate it.", no_args_is_help=True
)
app.add_typer(ca_app, name="ca")

CA_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Status", "status"),
    ("Created", "created_at"),
    ("Trusted until", lambda row: row.get("trusted_until") or "-"),
    ("SHA-256", lambda row: str(row.get("sha256", ""))[:16]),
]


@ca_app.command("list")
def ca_list(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the signing CAs: the one that issues and the rotated ones still trusted.

    Example: chainproof org ca list -o json
    """
    items = cli_context(ctx).api().list_signing_cas()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, CA_COLUMNS, title="Signing CAs")


@ca_app.command("rotate")
def ca_rotate(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """Start a new signing CA (owner or admin token). Certificates are issued by the new CA
    from now on; bundles signed before keep verifying against the trusted root.

    Example: chainproof org ca rotate -o json
    """
    created = cli_context(ctx).api().rotate_signing_ca()
    if output is Output.json:
        emit_json(created)
    else:
        print_table([created], CA_COLUMNS, title="Signing CA rotated")


app.add_typer(member_app, name="member")
app.add_typer(invite_app, name="invite")
