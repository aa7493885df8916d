"""``chainproof artifact``: put files into, and get them out of, the CAS by digest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chainproof.cli._common import (
    Output,
    OutputOpt,
    StateDirOpt,
    cli_context,
    emit_json,
    upload_progress,
)
from chainproof.errors import InvalidInput

app = typer.Typer(help="Upload and download evidence by digest (CAS).", no_args_is_help=True)


@app.command("upload")
def upload(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run to upload for (default: the open one).")
    ] = None,
    state_dir: StateDirOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Upload a file to the CAS for a run; prints its digest (skipped if already stored).

    Example: chainproof artifact upload dist/shop.tar.gz
    """
    from chainproof.client import attestation, cas
    from chainproof.core.digest import Digest

    cli = cli_context(ctx)
    fallback_url = None
    if run_id is None:
        state = attestation.load_state(attestation.state_path(state_dir, cli.environ))
        run_id, fallback_url = state.run_id, state.server_url
    api = cli.api(fallback_url)
    digest, size = Digest.of_file(file)
    grant = api.cas_upload_token(run_id)
    with upload_progress(file.name) as bar:
        sent = cas.upload(grant["url"], grant["token"], file, digest, progress=bar(size), api=api)
    if output is Output.json:
        emit_json({"digest": str(digest), "size": size, "uploaded": sent, "run_id": run_id})
    else:
        typer.echo(f"{digest}  {file} ({'uploaded' if sent else 'already stored'})")


@app.command("download")
def download(
    ctx: typer.Context,
    digest: Annotated[str, typer.Argument(help="sha256:<hex> of the blob.")],
    to: Annotated[
        Path | None, typer.Option("--to", help="File or directory to write (default: ./<hex>).")
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Download a blob you can read through a run; its digest is checked before it is kept.

    Example: chainproof artifact download sha256:9f86d0... --to sbom.json
    """
    from chainproof.client import cas
    from chainproof.core.digest import Digest

    dig = Digest.parse(digest)
    if dig.algorithm != "sha256":
        raise InvalidInput("only sha256 digests can be downloaded")
    dest = to or Path.cwd() / dig.hex
    if dest.is_dir():
        dest = dest / dig.hex
    api = cli_context(ctx).api()
    grant = api.cas_download_token(str(dig))
    cas.download(grant["url"], grant["token"], dig, dest, api=api)
    if output is Output.json:
        emit_json({"digest": str(dig), "path": str(dest), "size": dest.stat().st_size})
    else:
        typer.echo(f"{dig}  {dest}")
