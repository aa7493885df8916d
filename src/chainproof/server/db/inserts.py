"""Insert-or-get for rows created implicitly on first use (project, workflow, contract,
project version, workflow summary).

Concurrent first uses (16 CI jobs starting runs on a new project at once) must all get the one
row. ``SELECT`` then ``INSERT`` lets two transactions both see nothing and both insert: the
loser's unique violation used to surface as a 500. ``INSERT .. ON CONFLICT DO NOTHING`` (both
PostgreSQL and SQLite have it) makes the loser wait for the winner's commit and then insert
nothing; its next ``SELECT`` sees the winner's row (PostgreSQL's READ COMMITTED takes a new
snapshot per statement; SQLite's writer holds the one write lock). No savepoint is needed, so
the rest of the request's transaction is untouched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from chainproof.server.db.base import Base


def insert_if_absent(session: Session, model: type[Base], **values: Any) -> bool:
    """Insert one ``model`` row unless one with the same unique key exists; True if this call
    inserted it. Pending ORM changes are flushed first, so the statement sees them."""
    session.flush()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    # RETURNING, not rowcount: the ORM's insert reports rowcount -1 on PostgreSQL.
    return session.execute(stmt).first() is not None
