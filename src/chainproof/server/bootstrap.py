"""Create a data dir and organisations (``server init``) and serve (``server start``).

A data dir holds ``secret.key`` (the master key sealing the organisations' CA keys),
``config.toml`` (written last: its presence marks a finished ``server init``; it stores the
database URL unless that is the default SQLite ``chainproof.db`` beside it) and the embedded
CAS blobs. ``server init`` on a new or empty directory builds it and, if anything fails, removes
what it made; on a data dir it made before, it only adds an organisation to the data dir's
database; any other non-empty directory is refused.

Everything in a data dir is its owner's only (issue 15): ``server init`` makes the directory
0700 and creates its files under umask 077 (so the SQLite database, its ``-wal``/``-shm``,
``config.toml``, ``secret.key`` and CAS blobs and directories are 0600/0700), and
:func:`owner_only` does the same for the server processes, tightening a data dir made before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, NotFound
from chainproof.server.db.migrate import (
    UPGRADE_HINT,
    migrate,
    require_head,
    require_known,
    status,
)
from chainproof.server.db.session import (
    database_errors,
    display_url,
    make_engine,
    make_sessionmaker,
    normalise_url,
)
from chainproof.server.services import orgs, signing, tokens
from chainproof.server.settings import (
    CONFIG_FILE,
    SECRET_FILE,
    Settings,
    is_initialised,
    write_config,
    write_secret_key,
)

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp


def create_org(
    session: Session, name: str, *, allow_implicit_creation: bool = True
) -> tuple[dict[str, Any], str]:
    """An organisation with an owner user, membership, signing CA and owner token.

    Returns the org view and the owner token secret; Conflict if the org exists.
    """
    org = orgs.create_org(session, name, allow_implicit_creation=allow_implicit_creation)
    user = orgs.add_member(session, org, f"{name}-owner", "owner")
    signing.create_ca(session, org)
    _, secret = tokens.create_user_token(session, org, user, "owner", f"{name}-owner")
    return orgs.org_view(org), secret


def init_data_dir(
    data_dir: Path | str, org: str, database_url: str | None = None
) -> dict[str, Any]:
    """Create the data dir (secret key, migrated database, config), the org and its token; on a
    data dir made before, add the org to its database."""
    root = Path(data_dir).resolve()
    if root.is_dir() and is_initialised(root):
        with _umask(0o077):
            return _add_org(root, org, database_url)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InvalidInput(
            f"{root} is not empty and not a chainproof data dir",
            hint="pass a new or empty directory as --data-dir",
        )
    made = _first_missing(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        root.chmod(0o700)
        with _umask(0o077):
            return _initialise(root, org, database_url)
    except BaseException:
        # Leave no half-made data dir: remove what this call created.
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        else:
            for entry in root.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        raise


def prepare(settings: Settings, *, jobs: bool = True) -> FastAPI:
    """The control plane app over a database ``server init`` set up, upgraded to the current
    schema (never created; with ``auto_migrate`` off, NotReady unless it is there already);
    ``jobs=False``: an API process that leaves the periodic jobs to a worker (``server
    worker``)."""
    from chainproof.server.app import create_app

    with database_errors(settings.database_url):
        require_database(settings.database_url)
        bring_to_head(settings)
        return create_app(settings, start_worker=jobs)


def serve(app: ASGIApp, settings: Settings) -> None:
    """Run ``app`` until interrupted (server/serving.py: timeouts, limits, TLS, HSTS), logging
    through the handler ``telemetry.logs.configure_logging`` installed."""
    from chainproof.server.serving import serve as serve_asgi

    serve_asgi(app, settings)


#: The files of a data dir that must be its owner's only.
_PRIVATE_FILES = (
    CONFIG_FILE,
    SECRET_FILE,
    "chainproof.db",
    "chainproof.db-wal",
    "chainproof.db-shm",
)


def owner_only(settings: Settings) -> None:
    """For a server process: create every file and directory owner-only from now on (umask
    077), and make the data dir 0700 and its database, config and key 0600, in case an older
    version made them readable by others."""
    os.umask(0o077)
    root = settings.data_dir
    if not root.is_dir():
        return
    root.chmod(0o700)
    for name in _PRIVATE_FILES:
        path = root / name
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def run_jobs_only(app: FastAPI) -> None:
    """Run ``app``'s periodic jobs (server/jobs) without serving HTTP, until SIGTERM or SIGINT:
    the worker of a deployment whose API processes run ``server start --no-jobs``."""
    asyncio.run(_hold(app))


async def _hold(app: FastAPI) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The app's own lifespan starts the jobs and, on the way out, waits for a pass in
    # progress and closes the engine: the same start and stop as under uvicorn.
    async with app.router.lifespan_context(app):
        await stop.wait()


def require_database(url: str) -> None:
    """NotFound unless ``url`` names a database ``server init`` has set up (an SQLite file
    that exists, holding chainproof's tables); connection failures pass through."""
    parsed = make_url(normalise_url(url))
    shown = display_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise NotFound(
                f"the SQLite database {path or '(none)'} does not exist",
                hint="if this data dir uses another database (PostgreSQL), pass its URL with "
                "--database-url or CHAINPROOF_DATABASE_URL; otherwise run `chainproof server "
                "init` on a new data dir",
            )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ready = sa.inspect(conn).has_table("alembic_version")
    finally:
        engine.dispose()
    if not ready:
        raise NotFound(
            f"the database {shown} has no chainproof tables",
            hint="set it up with `chainproof server init --database-url ...`, or pass the URL "
            "of the database `server init` set up",
        )


def _initialise(root: Path, org: str, database_url: str | None) -> dict[str, Any]:
    settings = Settings.embedded(root, database_url=database_url)
    # A key given by CHAINPROOF_SECRET_KEY stays out of the data dir.
    given_key = settings.secret_key.get_secret_value()
    key = given_key or secrets.token_urlsafe(48)
    default_url = Settings.embedded(root, environ={}).database_url
    result = _create_org(settings.database_url, key, org, root)
    if not given_key:
        write_secret_key(root, key)
    stored = {} if settings.database_url == default_url else {"database_url": settings.database_url}
    write_config(root, stored)
    return result


def _add_org(root: Path, org: str, database_url: str | None) -> dict[str, Any]:
    stored = Settings.embedded(root, environ={}).database_url
    # (A data dir from before config.toml existed stores nothing to compare with.)
    if database_url and database_url != stored and (root / CONFIG_FILE).exists():
        raise Conflict(
            f"data dir {root} already uses the database {display_url(stored)}",
            hint="leave out --database-url (and CHAINPROOF_DATABASE_URL) to add an organisation "
            "to it, or initialise a new data dir for the other database",
        )
    settings = Settings.embedded(root, database_url=database_url)
    key = settings.secret_key.get_secret_value()
    if not key:
        raise NotFound(
            f"data dir {root} has no {SECRET_FILE}", hint="set CHAINPROOF_SECRET_KEY to its key"
        )
    with database_errors(settings.database_url):
        require_database(settings.database_url)
    return _create_org(settings.database_url, key, org, root)


def _create_org(url: str, key: str, org: str, root: Path) -> dict[str, Any]:
    """Migrate the database and create the organisation in it."""
    with database_errors(url):
        migrate(url)
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine, secret_key=key).begin() as session:
                org_view, token = create_org(session, org)
        finally:
            engine.dispose()
    shown = display_url(url)
    return {"org": org_view, "token": token, "data_dir": str(root), "database_url": shown}


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _first_missing(path: Path) -> Path | None:
    """The outermost of ``path`` and its parents that does not exist yet (None: it exists)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def bring_to_head(settings: Settings) -> None:
    """Upgrade the database to this release's schema, or (``auto_migrate`` off) check that an
    operator did; a database a newer release upgraded is refused either way."""
    shown = display_url(settings.database_url)
    if settings.auto_migrate:
        require_known(settings.database_url, shown)
        migrate(settings.database_url)
    else:
        data_dir = str(settings.data_dir)
        require_head(settings.database_url, shown, hint=UPGRADE_HINT.replace("DIR", data_dir))


def upgrade_database(settings: Settings) -> dict[str, Any]:
    """``server migrate upgrade``: run the pending migrations; what ran, oldest first."""
    url = settings.database_url
    shown = display_url(url)
    with database_errors(url):
        require_database(url)
        before = require_known(url, shown)
        migrate(url)
        after = status(url)
    return {
        "database_url": shown,
        "from": before.current,
        "to": after.current,
        "applied": list(before.pending),
    }


def database_status(settings: Settings) -> dict[str, Any]:
    """``server migrate current``: the database's revision against this release's head."""
    url = settings.database_url
    with database_errors(url):
        require_database(url)
        found = status(url)
    return {"database_url": display_url(url), **found.view()}
