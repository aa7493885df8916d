"""Pooled PostgreSQL connections are pinged only after sitting idle (db/session.py): a
connection dropped while idle is replaced before a request sees it, and one dropped moments
after use fails its next statement once, after which the pool has new connections."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from tests.pg import PG_ADMIN_URL, pg_database

from chainproof.server.db import session as db_session
from chainproof.server.db.session import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    with contextlib.contextmanager(pg_database)() as url:
        made = make_engine(url, pool_size=1, max_overflow=0)
        yield made
        made.dispose()


def _pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_unseen(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = _pid(engine)
    _terminate(dropped)
    monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 0.0)  # it has been idle "long enough"
    assert _pid(engine) != dropped  # pinged, found dead, replaced: no error


def test_a_connection_used_moments_ago_is_not_pinged(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or ping(c))
    monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 3600.0)
    _pid(engine)
    _pid(engine)
    assert pings == []  # a round trip saved per checkout
    monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 0.0)
    _pid(engine)
    assert len(pings) == 1
    monkeypatch.setattr(db_session, "IDLE_PING_SECONDS", 3600.0)

    dropped = _pid(engine)
    _terminate(dropped)
    with pytest.raises(sa.exc.OperationalError):  # handed out as it was: its statement fails
        _pid(engine)
    assert _pid(engine) != dropped  # the pool replaced it
