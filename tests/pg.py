"""A throw-away PostgreSQL database on the local server (trust auth, as on CI)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from chainproof.server.db.session import make_engine

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pg_database() -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (even with open connections)."""
    name = f"cp_test_{secrets.token_hex(6)}"
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:  # pragma: no cover - environment problem
        admin.dispose()
        # Never skip: a suite that silently drops PostgreSQL proves nothing about it.
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {err}", pytrace=False)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
