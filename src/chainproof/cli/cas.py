"""``chainproof cas serve``: the CAS service as its own process (production profile)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from chainproof.cli.server import DatabaseUrlOpt, data_dir_settings, server_extra

app = typer.Typer(
    help="Run the content-addressable store (CAS) as its own service.", no_args_is_help=True
)


@app.command("serve")
def serve(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            help="The control plane's data dir (secret key, database, embedded blobs).",
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8001,
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Serve /cas/v1 from the control plane's database and secret key.

    --database-url (or CHAINPROOF_DATABASE_URL) and CHAINPROOF_SECRET_KEY override the data
    dir's. Point the
    control plane at it with CHAINPROOF_CAS_URL=http://HOST:PORT/cas/v1.

    Example: chainproof cas serve --data-dir ./cp-data --port 8001
    """
    with server_extra():
        from chainproof.server.bootstrap import owner_only
        from chainproof.server.cas_service import create_cas_service
        from chainproof.server.serving import serve as serve_asgi
        from chainproof.server.telemetry.logs import configure_logging

        settings = data_dir_settings(data_dir, database_url, host=host, port=port)
        configure_logging(settings.log_format, settings.log_level)
        owner_only(settings)
        app = create_cas_service(settings)
        scheme = "https" if settings.tls_cert else "http"  # CHAINPROOF_TLS_CERT/_KEY
        logging.getLogger("chainproof.server").info(
            "chainproof CAS on %s://%s:%d/cas/v1 (data: %s)", scheme, host, port, data_dir
        )
        # The same timeouts and limits as the control plane (docs/server-hardening.md).
        serve_asgi(app, settings)
