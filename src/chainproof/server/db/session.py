"""Engines and sessions for SQLite (WAL, foreign keys) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from chainproof.errors import InvalidInput, NetworkError, ServiceError


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(
    url: str, *, pool_size: int | None = None, max_overflow: int | None = None
) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    ``pool_size`` and ``max_overflow`` size its connection pool (None: SQLAlchemy's 5 and 10).
    Its errors never carry the statement's parameters (``hide_parameters``): they hold token
    hashes, sealed keys and evidence, and a database error ends up in the server's log.
    """
    url = normalise_url(url)
    pool: dict[str, Any] = {}
    if pool_size is not None:
        pool["pool_size"] = pool_size
    if max_overflow is not None:
        pool["max_overflow"] = max_overflow
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
            **pool,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    engine = create_engine(url, hide_parameters=True, **pool)
    _ping_when_idle(engine)
    return engine


#: A pooled connection idle for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle: a dropped connection (a
    database restart, a proxy's idle timeout) is replaced, not handed to a request.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout, a round trip per request and per
    transaction of the log's batches (issue 16: 4% of a loaded server's time). A connection
    returned moments ago is used as it is; should it be dead after all (the database went
    away within the last seconds), its request fails with 503 ``unavailable``, SQLAlchemy
    discards the pool's connections, and the client's retry gets a new one.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or back in the pool moments ago
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as err:  # the pool retries the checkout with a new connection
            raise sa_exc.DisconnectionError(f"a pooled connection was dropped: {err}") from err


#: ``Session.info`` key under which sessions carry the server's master key
#: (services/signing.py seals and opens the organisations' CA keys with it).
SECRET_KEY_INFO = "chainproof.secret_key"  # noqa: S105 - a dict key, not a secret


def make_sessionmaker(engine: Engine, *, secret_key: str | None = None) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, carrying ``secret_key`` (the server's
    master key) in ``Session.info`` when given."""
    info = {SECRET_KEY_INFO: secret_key} if secret_key else None
    return sessionmaker(engine, expire_on_commit=False, info=info)


def display_url(url: str) -> str:
    """``url`` with its password masked, for messages and output."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "(unparsable URL)"


_URL_HINT = "correct --database-url or CHAINPROOF_DATABASE_URL"


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a database that cannot be used at start-up into a chainproof error: InvalidInput
    for a malformed URL, NetworkError if it cannot be reached, ServiceError otherwise."""
    shown = display_url(url)
    try:
        yield
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as err:
        raise InvalidInput(
            f"invalid database URL {shown}: {_one_paragraph(err)}",
            hint=f"use postgresql://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH; {_URL_HINT}",
        ) from None
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as err:
        reason = _one_paragraph(err.orig or err)
        if "does not exist" in reason:
            name = _database_name(url) or "NAME"
            hint = f"create the database first (e.g. `createdb {name}`), or {_URL_HINT}"
        else:
            hint = f"check that the database server runs and accepts connections, or {_URL_HINT}"
        raise NetworkError(f"cannot use the database {shown}: {reason}", hint=hint) from None
    except sa_exc.DBAPIError as err:
        raise ServiceError(
            f"the database {shown} refused: {_one_paragraph(err.orig or err)}",
            hint="check the database user's privileges",
        ) from None


def _database_name(url: str) -> str | None:
    try:
        return make_url(url).database
    except sa_exc.ArgumentError:
        return None


def _one_paragraph(err: BaseException) -> str:
    # Driver messages span lines (and SQLAlchemy appends a link): keep the first sentence(s).
    text = str(err).split("\n(Background on this error")[0]
    return re.sub(r"\s+", " ", text).strip()


#: SQLite's transient conditions (another writer, a full or vanished disk) among the many
#: meanings of its one OperationalError, which also covers programming errors (no such table).
_SQLITE_TRANSIENT = (
    "database is locked",
    "unable to open",
    "disk i/o error",
    "database or disk is full",
)


def unavailable_reason(err: BaseException) -> str | None:
    """Why the database cannot serve right now (unreachable, connection cut, pool exhausted,
    SQLite busy), one line without the SQL or its parameters; None for any other error."""
    if isinstance(err, sa_exc.TimeoutError):
        return "no database connection became free in time"
    if isinstance(err, sa_exc.DisconnectionError):
        return "the database connection was lost"
    if not isinstance(err, sa_exc.DBAPIError):
        return None
    reason = _one_paragraph(err.orig or err)
    if err.connection_invalidated:
        return reason
    if not isinstance(err, sa_exc.OperationalError | sa_exc.InterfaceError):
        return None
    if type(err.orig).__module__.startswith("sqlite3"):
        return reason if any(t in reason.lower() for t in _SQLITE_TRANSIENT) else None
    return reason
