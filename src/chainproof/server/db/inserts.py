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

from sqlalchemy import text
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


def insert_many_if_absent(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column values, ids included) skipping any whose unique key
    exists: one ``INSERT .. ON CONFLICT DO NOTHING`` executed for the batch (SQLAlchemy
    sends it as multi-row statements, not one per row)."""
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(model).on_conflict_do_nothing(), rows)


def copy_if_absent(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """:func:`insert_many_if_absent`, through COPY on PostgreSQL: the rows are copied (binary
    format) into a temporary table and moved over with one ``INSERT .. SELECT .. ON CONFLICT
    DO NOTHING`` (COPY itself has no conflict clause). Elsewhere, the multi-row insert."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        insert_many_if_absent(session, model, rows)
        return
    table = model.__table__.name  # type: ignore[attr-defined]
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(
            f'CREATE TEMP TABLE IF NOT EXISTS "copy_{table}" '
            f'(LIKE "{table}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
        )
        types = _column_types(cur, f"copy_{table}")
        # Binary: the server converts no text, and psycopg sends each value in its column's
        # type (a binary COPY applies no casts, hence the types from the catalogue).
        with cur.copy(f'COPY "copy_{table}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
            copy.set_types([types[c] for c in columns])
            for row in rows:
                copy.write_row([row[c] for c in columns])
        # Table and column names come from the model, never from input.
        move = f'INSERT INTO "{table}" ({names}) SELECT {names} FROM "copy_{table}" '  # noqa: S608
        cur.execute(move + "ON CONFLICT DO NOTHING")
        cur.execute(f'TRUNCATE "copy_{table}"')


def _column_types(cur: Any, table: str) -> dict[str, int]:
    """Column name → type oid of a temporary table."""
    cur.execute(
        "SELECT attname, atttypid FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (f'pg_temp."{table}"',),
    )
    return {name: oid for name, oid in cur.fetchall()}


def commit_without_flush(session: Session) -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL reaches the disk
    (``SET LOCAL synchronous_commit = off``). Only for derived data that is written again
    when lost: a crash may undo the last such commits, never corrupt or half-apply one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))
