"""``chainproof server``: create and run the embedded control plane (SQLite or PostgreSQL,
filesystem CAS, one data dir).

The database is chosen by, first to last: ``--database-url``, ``CHAINPROOF_DATABASE_URL``,
``database_url`` in the data dir's ``config.toml`` (``server init`` stores it there), the
SQLite ``chainproof.db`` in the data dir.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chainproof.cli._common import Output, OutputOpt, emit_json, info, print_fields
from chainproof.errors import InvalidInput

if TYPE_CHECKING:
    from chainproof.server.settings import Settings

app = typer.Typer(
    help="Create and run the embedded control plane (one process, data in one directory).",
    no_args_is_help=True,
)

DataDirOpt = Annotated[
    Path,
    typer.Option("--data-dir", help="Directory holding the config, secret key and CAS blobs."),
]
DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="CHAINPROOF_DATABASE_URL",
        help="SQLAlchemy URL, e.g. postgresql://USER:PASSWORD@HOST:5432/NAME (default: the one "
        "`server init` stored in the data dir's config.toml, else SQLite in the data dir).",
        show_default=False,
    ),
]


@contextlib.contextmanager
def server_extra() -> Iterator[None]:
    """Run server code; a CLI-only install (no ``[server]`` extra) gets a message, not a
    traceback."""
    try:
        yield
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] == "chainproof":
            raise
        raise InvalidInput(
            f"this command needs chainproof's server components, which are not installed "
            f"(no module named {err.name!r})",
            hint="install them with: pip install 'chainproof[server]'",
        ) from None


@app.command("init")
def init(
    data_dir: DataDirOpt,
    org: Annotated[str, typer.Option("--org", help="Name of the first organisation.")] = "default",
    database_url: DatabaseUrlOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Create the data dir, database, organisation and its owner token (printed once).

    The database URL is stored in DATA_DIR/config.toml (mode 0600) for later commands. On a
    data dir made before, adds the organisation to its database. If anything fails, the data
    dir is left as it was.

    Example: chainproof server init --data-dir ./cp-data --org acme -o json
    """
    with server_extra():
        from chainproof.server.bootstrap import init_data_dir

        result = init_data_dir(data_dir, org, database_url)
    if output is Output.json:
        emit_json(result)
        return
    org_info = result.get("org") or {}
    print_fields(
        [
            ("Organisation", org_info.get("name", org)),
            ("Org id", org_info.get("id")),
            ("Data dir", result.get("data_dir", str(data_dir))),
            ("Database", result.get("database_url")),
            ("Owner token", result["token"]),
        ],
        title="chainproof server initialised",
    )
    info("The owner token is shown only now: store it (e.g. export CHAINPROOF_TOKEN=...).")
    info(f"Next: chainproof server start --data-dir {data_dir}")


TlsCertOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        envvar="CHAINPROOF_TLS_CERT",
        help="PEM certificate (chain) to serve HTTPS with; needs --tls-key.",
        show_default=False,
    ),
]
TlsKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-key",
        envvar="CHAINPROOF_TLS_KEY",
        help="PEM private key of --tls-cert.",
        show_default=False,
    ),
]


@app.command("start")
def start(
    data_dir: DataDirOpt,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address to listen on [default: 127.0.0.1].", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="TCP port to listen on [default: 8000].", show_default=False),
    ] = None,
    database_url: DatabaseUrlOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    jobs: Annotated[
        bool,
        typer.Option(
            "--jobs/--no-jobs",
            envvar="CHAINPROOF_RUN_JOBS",
            help="Run the periodic jobs (run expiry, drift findings, CAS revalidation) in this "
            "process. With several API processes, start them with --no-jobs and run one "
            "`server worker`.",
        ),
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="API processes sharing the port (uvicorn workers; default 1, or "
            "CHAINPROOF_WORKERS). Migrations and the periodic jobs still run once, in this "
            "process. Pool sizing: docs/deployment.md.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the API, CAS and dashboard from a data dir made by `server init`.

    Timeouts, connection limit and TLS: docs/server-hardening.md.

    Flags beat CHAINPROOF_* environment variables, which beat the data dir's config.toml
    (every setting: docs/configuration.md).

    Example: chainproof server start --data-dir ./cp-data --port 8000
    """
    with server_extra():
        settings = data_dir_settings(
            data_dir,
            database_url,
            host=host,
            port=port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            workers=workers,
        )
        if settings.workers == 1:
            _serve(settings, data_dir, jobs=jobs)
            return
        from chainproof.server.multiprocess import shared_metrics

        # Before anything imports prometheus_client: it picks where metrics live on import.
        with shared_metrics(settings.data_dir) as metrics_dir:
            _serve(settings, data_dir, jobs=jobs, metrics_dir=metrics_dir)


def _serve(
    settings: Settings, data_dir: Path, *, jobs: bool, metrics_dir: Path | None = None
) -> None:
    """Serve with one process, or with ``settings.workers`` sharing ``metrics_dir``."""
    from chainproof.server.bootstrap import owner_only, prepare, serve
    from chainproof.server.serving import tls_files
    from chainproof.server.telemetry.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    tls_files(settings)
    owner_only(settings)
    scheme = "https" if settings.tls_cert else "http"
    suffix = "" if jobs else ", periodic jobs off"
    if metrics_dir is not None:
        suffix += f", {settings.workers} API worker processes"
    started = (scheme, settings.host, settings.port, data_dir, suffix)
    message = "chainproof control plane on %s://%s:%s (data: %s%s)"
    if metrics_dir is not None:
        from chainproof.server.multiprocess import run_workers

        logging.getLogger("chainproof.server").info(message, *started)
        run_workers(settings, jobs=jobs, metrics_dir=metrics_dir)
        return
    app = prepare(settings, jobs=jobs)
    logging.getLogger("chainproof.server").info(message, *started)
    serve(app, settings)


@app.command("worker")
def worker(data_dir: DataDirOpt, database_url: DatabaseUrlOpt = None) -> None:
    """Run only the periodic jobs, no HTTP, until stopped.

    The jobs are run expiry, drift findings, CAS revalidation, VSA repair, the discover index
    and integration deliveries: run a worker beside API processes started with
    `server start --no-jobs` (on PostgreSQL, several workers share the deliveries).

    Example: chainproof server worker --data-dir ./cp-data
    """
    with server_extra():
        from chainproof.server.bootstrap import owner_only, prepare, run_jobs_only
        from chainproof.server.telemetry.logs import configure_logging

        settings = data_dir_settings(data_dir, database_url, host="127.0.0.1", port=8000)
        configure_logging(settings.log_format, settings.log_level)
        owner_only(settings)
        app = prepare(settings, jobs=True)
        logging.getLogger("chainproof.server").info(
            "chainproof worker: periodic jobs only (data: %s)", data_dir
        )
        run_jobs_only(app)


def data_dir_settings(
    data_dir: Path,
    database_url: str | None,
    *,
    host: str | None,
    port: int | None,
    **overrides: Any,
) -> Settings:
    """The settings of an initialised data dir, saying so when ``database_url`` overrides the
    one its config.toml stores."""
    from chainproof.server.db.session import display_url
    from chainproof.server.settings import Settings, read_config

    settings = Settings.of_data_dir(
        data_dir, database_url=database_url, host=host, port=port, **overrides
    )
    stored = read_config(settings.data_dir).get("database_url")
    if database_url and stored and stored != database_url:
        info(
            f"Database: {display_url(database_url)} (from --database-url or "
            f"CHAINPROOF_DATABASE_URL; config.toml names {display_url(stored)})"
        )
    return settings
