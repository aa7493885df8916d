"""Engines and sessions for SQLite (WAL, foreign keys) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


#: ``Session.info`` key under which sessions carry the server's master key
#: (services/signing.py seals and opens the organisations' CA keys with it).
SECRET_KEY_INFO = "chainproof.secret_key"  # noqa: S105 - a dict key, not a secret


def make_sessionmaker(engine: Engine, *, secret_key: str | None = None) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, carrying ``secret_key`` (the server's
    master key) in ``Session.info`` when given."""
    info = {SECRET_KEY_INFO: secret_key} if secret_key else None
    return sessionmaker(engine, expire_on_commit=False, info=info)
