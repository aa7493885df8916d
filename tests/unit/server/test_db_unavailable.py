"""Which database errors mean "unavailable, retry" (503) and which are bugs (500):
server/db/session.py ``unavailable_reason``."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from chainproof.server.db.session import unavailable_reason


def _operational(orig: Exception) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT secret FROM t WHERE x = ?", ("param",), orig)


@pytest.mark.parametrize(
    "orig",
    [
        psycopg.OperationalError("connection failed: Connection refused"),
        sqlite3.OperationalError("database is locked"),
    ],
)
def test_lost_or_busy_databases_are_unavailable(orig: Exception) -> None:
    reason = unavailable_reason(_operational(orig))
    assert reason is not None and str(orig) in reason
    assert "SELECT" not in reason and "param" not in reason  # no SQL, no parameters


def test_pool_timeouts_and_invalidated_connections_are_unavailable() -> None:
    assert unavailable_reason(sa_exc.TimeoutError("QueuePool limit")) is not None
    cut = sa_exc.DBAPIError("SELECT 1", None, Exception("server closed the connection"))
    cut.connection_invalidated = True
    assert unavailable_reason(cut) == "server closed the connection"


@pytest.mark.parametrize(
    "err",
    [
        _operational(sqlite3.OperationalError("no such table: projects")),
        sa_exc.IntegrityError("INSERT", None, Exception("UNIQUE constraint failed")),
        sa_exc.ProgrammingError("SELECT", None, Exception("syntax error")),
        ValueError("not a database error"),
    ],
)
def test_other_errors_are_not(err: Exception) -> None:
    assert unavailable_reason(err) is None
