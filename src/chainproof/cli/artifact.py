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
    transfer_progress,
)
from chainproof.errors import InvalidInput

app = typer.Typer(help="Upload and download evidence by digest (CAS).", no_args_is_help=True)


@app.command("upload")
def upload(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    project: Annotated[
        str | None,
        typer.Option("--project", help="Upload outside any run, filed under this project."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Upload for this run (still initialized).")
    ] = None,
    state_dir: StateDirOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Upload a file to the organisation's CAS; prints its digest (skipped if already stored).

    The upload is for --run-id, else for the attestation open in the state dir; with
    --project, or when no attestation is open, it is a run-less upload (owner, admin or
    member tokens), downloadable once a run references the digest.

    Example: chainproof artifact upload dist/shop.tar.gz --project shop
    """
    from chainproof.client import attestation, cas
    from chainproof.core.digest import Digest

    if run_id and project:
        raise typer.BadParameter("give --run-id or --project, not both", param_hint="--project")
    cli = cli_context(ctx)
    fallback_url = None
    state_file = attestation.state_path(state_dir, cli.environ)
    if run_id is None and project is None and state_file.exists():
        state = attestation.load_state(state_file)
        run_id, fallback_url = state.run_id, state.server_url
    api = cli.api(fallback_url)
    grant = api.cas_upload_token(run_id, project=project)
    max_size = (grant.get("backend") or {}).get("max_blob_size")
    size = file.stat().st_size
    with transfer_progress(file.name, enabled=output is not Output.json, verb="uploading") as bar:
        if cas.streams(grant, size):
            # Large: read once, hashed while sent (no HEAD skip; the CAS stores it once).
            digest, size = cas.upload_streamed(
                grant["url"], grant["token"], file, progress=bar(size), api=api, max_size=max_size
            )
            sent = True
        else:
            digest, size = Digest.of_file(file)
            sent = cas.upload(
                grant["url"],
                grant["token"],
                file,
                digest,
                progress=bar(size),
                api=api,
                max_size=max_size,
            )
    if output is Output.json:
        emit_json(
            {
                "digest": str(digest),
                "size": size,
                "uploaded": sent,
                "run_id": run_id,
                "project": project,
            }
        )
    else:
        typer.echo(f"{digest}  {file} ({'uploaded' if sent else 'already stored'})")


@app.command("download")
def download(
    ctx: typer.Context,
    digest: Annotated[str, typer.Argument(help="sha256:<hex> of the blob.")],
    to: Annotated[
        Path | None, typer.Option("--to", help="File or directory to write (default: ./<hex>).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the destination if it exists.")
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """Download a blob you can read through a run; its digest is checked before it is kept.

    An existing destination is refused (exit 2) unless --force. Bytes are hashed as they
    arrive into a temporary file beside the destination, which is renamed onto it only when
    the digest matches: a corrupt or interrupted download leaves nothing behind (and an
    existing file untouched).

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
    if dest.exists() and not force:
        raise InvalidInput(
            f"{dest} already exists", hint="pass --force to replace it, or --to another path"
        )
    api = cli_context(ctx).api()
    grant = api.cas_download_token(str(dig))
    with transfer_progress(dest.name, enabled=output is not Output.json, verb="downloading") as bar:
        cas.download(grant["url"], grant["token"], dig, dest, progress=bar(None), api=api)
    if output is Output.json:
        emit_json({"digest": str(dig), "path": str(dest), "size": dest.stat().st_size})
    else:
        typer.echo(f"{dig}  {dest}")
