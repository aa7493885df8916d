"""``chainproof cas-backend``: where the organisation's evidence is stored (owner/admin).

Credentials come from flags, from ``CHAINPROOF_CAS_*`` variables or from standard input
(``--password-stdin``); they are sent to the control plane once and never printed: the
server keeps them sealed and answers only whether a backend has any (``has_secret``).
"""

from __future__ import annotations

import re
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    info,
    print_fields,
    print_table,
)

app = typer.Typer(
    help="Manage where your organisation's evidence is stored (owner or admin token).",
    no_args_is_help=True,
)


class Provider(StrEnum):
    """The storage providers ``add`` knows."""

    fs = "fs"
    oci = "oci"
    s3 = "s3"
    azure_blob = "azure-blob"
    inline = "inline"


NameOpt = Annotated[str, typer.Option("--name", help="Name of the backend in your organisation.")]
MaxSizeOpt = Annotated[
    str | None,
    typer.Option(
        "--max-size",
        help="Largest blob the backend takes, e.g. 100MB, 2GiB (default 100MB; inline: "
        "500KB, at most 2MB).",
        show_default=False,
    ),
]
NoValidateOpt = Annotated[
    bool,
    typer.Option("--no-validate", help="Store the settings without probing the backend first."),
]
_HIDDEN: dict[str, Any] = {"show_default": False}


def _opt(flag: str, text: str) -> Any:
    return typer.Option(flag, help=text, **_HIDDEN)


def _secret_opt(flag: str, text: str, env: str) -> Any:
    return typer.Option(flag, help=text, envvar=env, show_envvar=True, **_HIDDEN)


PathOpt = Annotated[str | None, _opt("--path", "fs: directory (inside the server's fs root).")]
RepositoryOpt = Annotated[
    str | None, _opt("--repository", "oci: host[:port]/path of the repository.")
]
UsernameOpt = Annotated[str | None, _opt("--username", "oci: registry user name.")]
PasswordOpt = Annotated[
    str | None, _secret_opt("--password", "oci: registry password.", "CHAINPROOF_CAS_PASSWORD")
]
StdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        "--secret-stdin",
        help="Read the backend's main secret from standard input: the oci password, the s3 "
        "secret access key, the azure-blob account key (with --account-url) or connection "
        "string.",
    ),
]
BucketOpt = Annotated[str | None, _opt("--bucket", "s3: bucket name.")]
EndpointOpt = Annotated[
    str | None, _opt("--endpoint", "s3: endpoint URL of an S3-compatible service.")
]
RegionOpt = Annotated[str | None, _opt("--region", "s3: region (default us-east-1).")]
PrefixOpt = Annotated[str | None, _opt("--prefix", "s3, azure-blob: key prefix.")]
AccessKeyOpt = Annotated[str | None, _opt("--access-key-id", "s3: access key id.")]
SecretKeyOpt = Annotated[
    str | None,
    _secret_opt(
        "--secret-access-key", "s3: secret access key.", "CHAINPROOF_CAS_SECRET_ACCESS_KEY"
    ),
]
ContainerOpt = Annotated[str | None, _opt("--container", "azure-blob: container name.")]
AccountUrlOpt = Annotated[
    str | None, _opt("--account-url", "azure-blob: https://ACCOUNT.blob.core.windows.net.")
]
ConnectionOpt = Annotated[
    str | None,
    _secret_opt(
        "--connection-string",
        "azure-blob: storage connection string.",
        "CHAINPROOF_CAS_CONNECTION_STRING",
    ),
]
AccountKeyOpt = Annotated[
    str | None,
    _secret_opt("--account-key", "azure-blob: account key.", "CHAINPROOF_CAS_ACCOUNT_KEY"),
]
SasOpt = Annotated[
    str | None, _secret_opt("--sas-token", "azure-blob: SAS token.", "CHAINPROOF_CAS_SAS_TOKEN")
]

_CONFIG_FLAGS = (
    "path",
    "repository",
    "username",
    "bucket",
    "endpoint",
    "region",
    "prefix",
    "access_key_id",
    "container",
    "account_url",
)
_SECRET_FLAGS = ("password", "secret_access_key", "connection_string", "account_key", "sas_token")
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_size(text: str) -> int:
    """``100MB``, ``1.5GB``, ``512KiB``, ``1048576`` → bytes; BadParameter otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS or float(match.group(1)) <= 0:
        raise typer.BadParameter(
            f"{text!r} is not a size such as 100MB, 2GiB or 1048576", param_hint="--max-size"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def _human(size: int | None) -> str:
    if not size:
        return "-"
    for unit, scale in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


def _where(backend: dict[str, Any]) -> str:
    config = backend.get("config") or {}
    keys = ("path", "repository", "bucket", "container", "endpoint", "account_url", "prefix")
    return " ".join(f"{k}={config[k]}" for k in keys if config.get(k)) or "-"


def _role(backend: dict[str, Any]) -> str:
    return "default" if backend.get("default") else "fallback" if backend.get("fallback") else "-"


def _show(backend: dict[str, Any], output: Output, title: str) -> None:
    if output is Output.json:
        emit_json(backend)
        return
    print_fields(
        [
            ("Name", backend.get("name")),
            ("Provider", backend.get("provider")),
            ("Config", backend.get("config")),
            ("Credentials", "stored (never shown)" if backend.get("has_secret") else "none"),
            ("Role", _role(backend)),
            ("Max blob size", _human(backend.get("max_blob_size"))),
            ("Status", backend.get("status")),
            ("Status message", backend.get("status_message")),
            ("Validated", backend.get("validated_at")),
        ],
        title=title,
    )


def _collect(
    ctx: typer.Context, provider: str | None, values: dict[str, str | None], stdin: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """Config and secret fields from the flags; secrets from the environment only when they
    belong to ``provider``; ``--password-stdin`` fills the provider's main secret."""
    from chainproof.cas.providers import PROVIDERS as SPECS

    spec = SPECS.get(provider or "")
    config = {k: v for k in _CONFIG_FLAGS if (v := values.get(k))}
    secret: dict[str, str] = {}
    for key in _SECRET_FLAGS:
        value = values.get(key)
        if not value:
            continue
        # Typer vendors click: compare the ParameterSource by name, not by class.
        from_env = getattr(ctx.get_parameter_source(key), "name", "") == "ENVIRONMENT"
        if from_env and spec is not None and key not in spec.secrets:
            continue
        secret[key] = value
    if stdin:
        if spec is None:
            raise typer.BadParameter(
                "cannot tell which secret to read", param_hint="--password-stdin"
            )
        main = {
            "oci": "password",
            "s3": "secret_access_key",
            "azure-blob": "account_key"
            if (config.get("account_url") or values.get("account_url"))
            else "connection_string",
        }.get(spec.name)
        if main is None:
            raise typer.BadParameter(
                f"a {spec.name} backend has no secret", param_hint="--password-stdin"
            )
        secret[main] = sys.stdin.read().strip()
    return config, secret


@app.command("add")
def add(
    ctx: typer.Context,
    provider: Annotated[Provider, typer.Argument(help="Where the blobs go.")],
    name: NameOpt,
    default: Annotated[bool, typer.Option("--default", help="Make it the default.")] = False,
    fallback: Annotated[
        bool, typer.Option("--fallback", help="Use it while the default fails validation.")
    ] = False,
    max_size: MaxSizeOpt = None,
    no_validate: NoValidateOpt = False,
    path: PathOpt = None,
    repository: RepositoryOpt = None,
    username: UsernameOpt = None,
    password: PasswordOpt = None,
    password_stdin: StdinOpt = False,
    bucket: BucketOpt = None,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
    prefix: PrefixOpt = None,
    access_key_id: AccessKeyOpt = None,
    secret_access_key: SecretKeyOpt = None,
    container: ContainerOpt = None,
    account_url: AccountUrlOpt = None,
    connection_string: ConnectionOpt = None,
    account_key: AccountKeyOpt = None,
    sas_token: SasOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Add a storage backend; the server writes, reads and deletes a probe blob first.

    An inline backend stores nothing: while it is the default, `attestation add` embeds each
    file (up to --max-size, default 500KB) in the attestation itself.

    Example: chainproof cas-backend add oci --name registry --default
    --repository registry.example.com/acme/evidence --username ci --password-stdin
    """
    if default and fallback:
        raise typer.BadParameter("choose --default or --fallback, not both")
    config, secret = _collect(ctx, provider, dict(locals()), password_stdin)
    backend = (
        cli_context(ctx)
        .api()
        .create_cas_backend(
            name,
            provider,
            config=config,
            secret=secret,
            default=default,
            fallback=fallback,
            max_blob_size=parse_size(max_size) if max_size else None,
            skip_validation=no_validate,
        )
    )
    _show(backend, output, "CAS backend added")


@app.command("update")
def update(
    ctx: typer.Context,
    name: NameOpt,
    default: Annotated[
        bool | None,
        typer.Option("--default/--no-default", help="Make it (or stop it being) the default."),
    ] = None,
    fallback: Annotated[
        bool | None,
        typer.Option("--fallback/--no-fallback", help="Make it (or stop it being) the fallback."),
    ] = None,
    max_size: MaxSizeOpt = None,
    no_validate: NoValidateOpt = False,
    path: PathOpt = None,
    repository: RepositoryOpt = None,
    username: UsernameOpt = None,
    password: PasswordOpt = None,
    password_stdin: StdinOpt = False,
    bucket: BucketOpt = None,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
    prefix: PrefixOpt = None,
    access_key_id: AccessKeyOpt = None,
    secret_access_key: SecretKeyOpt = None,
    container: ContainerOpt = None,
    account_url: AccountUrlOpt = None,
    connection_string: ConnectionOpt = None,
    account_key: AccountKeyOpt = None,
    sas_token: SasOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Change a backend: settings, role, size limit, or rotate its credentials.

    New settings and credentials are validated before they replace the old ones.
    Example: chainproof cas-backend update --name registry --password-stdin < new-password
    """
    api = cli_context(ctx).api()
    provider = api.get_cas_backend(name)["provider"]
    config, secret = _collect(ctx, provider, dict(locals()), password_stdin)
    backend = api.update_cas_backend(
        name,
        config=dict(config),
        secret=dict(secret),
        default=default,
        fallback=fallback,
        max_blob_size=parse_size(max_size) if max_size else None,
        skip_validation=no_validate,
    )
    _show(backend, output, "CAS backend updated")


@app.command("list")
def list_backends(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the organisation's backends (credentials are never shown).

    Example: chainproof cas-backend list -o json
    """
    items = cli_context(ctx).api().list_cas_backends()
    if output is Output.json:
        emit_json(items)
        return
    print_table(
        items,
        [
            ("Name", "name"),
            ("Provider", "provider"),
            ("Location", _where),
            ("Role", _role),
            ("Max size", lambda b: _human(b.get("max_blob_size"))),
            ("Status", "status"),
            ("Validated", "validated_at"),
        ],
        title="CAS backends",
    )
    if not any(b.get("default") for b in items):
        info("No default backend: evidence goes to the server's embedded filesystem store.")


@app.command("delete")
def delete(ctx: typer.Context, name: NameOpt, output: OutputOpt = Output.table) -> None:
    """Delete a backend that holds no evidence.

    Example: chainproof cas-backend delete --name old-bucket
    """
    cli_context(ctx).api().delete_cas_backend(name)
    if output is Output.json:
        emit_json({"deleted": name})
    else:
        info(f"Deleted CAS backend {name}.")


@app.command("validate")
def validate(ctx: typer.Context, name: NameOpt, output: OutputOpt = Output.table) -> None:
    """Write, read back and delete a probe blob now; exit 1 when the backend fails.

    Example: chainproof cas-backend validate --name registry
    """
    backend = cli_context(ctx).api().validate_cas_backend(name)
    _show(backend, output, "CAS backend validation")
    if backend.get("status") != "ok":
        info(f"Error: CAS backend {name} failed validation: {backend.get('status_message')}")
        raise typer.Exit(1)
