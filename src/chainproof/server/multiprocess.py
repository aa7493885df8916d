"""``server start --workers N``: N API processes on one port, as uvicorn's and gunicorn's
workers are.

The process the command starts (the supervisor) does, once, what must happen once: it checks
and migrates the database and seals legacy CA keys (:func:`chainproof.server.bootstrap.prepare`),
and runs the periodic jobs (server/jobs) in a thread of its own, unless ``--no-jobs``. Then
uvicorn's supervisor binds the port and spawns the workers; each builds its own application,
engine and pool (:class:`WorkerApp`, pickled to it with the settings) and never runs the
jobs. So the jobs run once whatever N is, migrations finish before any worker serves, and a
worker that dies is replaced by uvicorn without touching either.

Metrics: every process (supervisor included) keeps its counters in files of one directory,
prometheus_client's multiprocess mode, so that ``/metrics``, whichever worker answers it, sums
them all: the jobs' metrics come from the supervisor, the requests' from the workers. The
directory is made fresh in the data dir at start (a stale one would add a previous run's
counts) and removed at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chainproof.errors import ChainproofError, ServiceError
from chainproof.server.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp

__all__ = ["WorkerApp", "run_workers", "shared_metrics"]

log = logging.getLogger("chainproof.server")


@dataclass(frozen=True)
class WorkerApp:
    """The application of one worker process, built in that process (uvicorn's ``factory``)."""

    settings: Settings
    metrics_dir: Path | None = None

    def __call__(self) -> ASGIApp:
        from uvicorn.config import STARTUP_FAILURE

        from chainproof.server.app import create_app
        from chainproof.server.db.session import database_errors
        from chainproof.server.serving import guard
        from chainproof.server.telemetry.logs import configure_logging

        settings = self.settings
        os.umask(0o077)  # as owner_only: what a worker creates is its owner's only
        try:
            # A spawned process starts with Python's logging unconfigured.
            configure_logging(settings.log_format, settings.log_level)
            with database_errors(settings.database_url):
                app = create_app(settings, start_worker=False, shared_metrics=self.metrics_dir)
        except ChainproofError as err:
            log.error("API worker %d could not start: %s", os.getpid(), err)
        except Exception:
            log.exception("API worker %d could not start", os.getpid())
        else:
            return guard(app, settings)
        # uvicorn's supervisor stops, rather than restarts, a worker that exits so.
        sys.exit(STARTUP_FAILURE)


def run_workers(settings: Settings, *, jobs: bool, metrics_dir: Path) -> None:
    """Serve with ``settings.workers`` processes until SIGINT or SIGTERM: prepare the database
    once here, run the periodic jobs here (``jobs``), serve in the workers; every process
    keeps its metrics in ``metrics_dir`` (:func:`shared_metrics`)."""
    from chainproof.server.bootstrap import prepare
    from chainproof.server.serving import serve_workers

    supervisor = prepare(settings, jobs=jobs)
    with _lifespan_in_thread(supervisor):
        serve_workers(WorkerApp(settings, metrics_dir), settings, settings.workers)


#: Where prometheus_client's multiprocess mode keeps a process's metrics; it reads this
#: variable when it is first imported.
_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def shared_metrics(data_dir: Path) -> Iterator[Path]:
    """A new metrics directory in ``data_dir`` for this process and the workers it spawns
    (they inherit the environment), removed on the way out. Enter it before anything imports
    prometheus_client."""
    if "prometheus_client" in sys.modules:
        # Imported already, it keeps this process's metrics in memory: the jobs' would be lost.
        raise ServiceError(
            "internal: prometheus_client was imported before the metrics directory was set",
            hint="report this bug; meanwhile run one process per port (--workers 1)",
        )
    path = Path(tempfile.mkdtemp(prefix=".metrics-", dir=data_dir))
    os.environ[_MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(_MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _lifespan_in_thread(app: FastAPI) -> Iterator[None]:
    """Run ``app``'s lifespan (its periodic jobs, when it has them) in a thread with its own
    event loop while the block runs; on the way out, stop it as uvicorn would (a pass in
    progress finishes, the engine is closed). uvicorn's supervisor owns the main thread and
    its signals."""
    stop = threading.Event()
    started = threading.Event()
    failed: list[BaseException] = []

    async def hold() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)

    def run() -> None:
        try:
            asyncio.run(hold())
        except BaseException as err:  # reported by the caller's thread
            failed.append(err)
        finally:
            started.set()

    thread = threading.Thread(target=run, name="chainproof-jobs", daemon=True)
    thread.start()
    started.wait()
    if failed:
        raise failed[0]
    try:
        yield
    finally:
        stop.set()
        thread.join()
