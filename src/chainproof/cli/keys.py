"""``chainproof keys``: signing key pairs for ``attestation push --key``, cosign-compatible.

``keys generate`` writes ``<prefix>.key`` (cosign's encrypted private key format) and
``<prefix>.pub`` (PKIX PEM), as ``cosign generate-key-pair`` does; either tool can use the
other's keys. ``keys register`` and ``keys list`` manage the public keys the organisation
accepts (the same as ``signing-key add`` and ``signing-key list``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from chainproof.cli._common import Output, OutputOpt, cli_context, emit_json, print_table
from chainproof.errors import InvalidInput

app = typer.Typer(
    help="Generate signing key pairs (cosign format) and register their public keys.",
    no_args_is_help=True,
)

COLUMNS = [("Name", "name"), ("ID", "id")]
_PASSWORD_ENV = "COSIGN_PASSWORD"  # noqa: S105 - the variable's name, as cosign reads it


def _interactive() -> bool:
    return sys.stdin.isatty()


def _password() -> bytes:
    """``COSIGN_PASSWORD`` (empty is allowed, as in cosign), else asked twice on a terminal."""
    if _PASSWORD_ENV in os.environ:
        return os.environ[_PASSWORD_ENV].encode()
    if not _interactive():
        raise InvalidInput(
            "no password for the private key",
            hint=f"set {_PASSWORD_ENV} (it may be empty), or run on a terminal to be asked",
        )
    typed: str = typer.prompt(
        "Enter password for private key",
        hide_input=True,
        confirmation_prompt="Enter password for private key again",
        default="",
        show_default=False,
    )
    return typed.encode()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


@app.command("generate")
def generate(
    output_key_prefix: Annotated[
        str,
        typer.Option(
            "--output-key-prefix", help="Write PREFIX.key and PREFIX.pub (as cosign does)."
        ),
    ] = "cosign",
    output: OutputOpt = Output.table,
) -> None:
    """Generate a P-256 key pair: PREFIX.key (encrypted, cosign's format) and PREFIX.pub.

    The password comes from COSIGN_PASSWORD, or is asked twice on a terminal. Existing files
    are never overwritten.

    Example: COSIGN_PASSWORD=... chainproof keys generate --output-key-prefix release
    """
    from chainproof.signing.keyfile import generate_key_pair

    key_path, pub_path = Path(f"{output_key_prefix}.key"), Path(f"{output_key_prefix}.pub")
    for path in (key_path, pub_path):
        if path.exists():
            raise InvalidInput(
                f"{path} already exists: chainproof does not overwrite keys",
                hint="move it away, or choose another --output-key-prefix",
            )
    password = _password()
    key_pem, pub_pem = generate_key_pair(password)
    try:
        _write_new(key_path, key_pem, 0o600)
        _write_new(pub_path, pub_pem, 0o644)
    except FileExistsError as err:
        raise InvalidInput(
            f"{err.filename} already exists: chainproof does not overwrite keys"
        ) from None
    except OSError as err:
        raise InvalidInput(f"cannot write {err.filename}: {err.strerror}") from None
    result = {"private_key": str(key_path), "public_key": str(pub_path)}
    if output is Output.json:
        emit_json(result)
    else:
        typer.echo(f"Private key written to {key_path}")
        typer.echo(f"Public key written to {pub_path}")


@app.command("register")
def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="A name for the key, e.g. release-ci.")],
    public_key: Annotated[
        Path,
        typer.Option(
            "--public-key", exists=True, dir_okay=False, help="Public key, PEM (e.g. cosign.pub)."
        ),
    ],
    output: OutputOpt = Output.table,
) -> None:
    """Accept bundles signed by this key at push (owner or admin token).

    Example: chainproof keys register --name release-ci --public-key cosign.pub
    """
    created = cli_context(ctx).api().register_signing_key(name, public_key.read_text())
    if output is Output.json:
        emit_json(created)
    else:
        print_table([created], COLUMNS, title="Signing key registered")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Output.table) -> None:
    """List the public keys whose bundles the organisation accepts.

    Example: chainproof keys list -o json
    """
    items = cli_context(ctx).api().list_signing_keys()
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, COLUMNS, title="Signing keys")
