"""Alembic environment: online migrations against the configured URL."""

from __future__ import annotations

from alembic import context

from chainproof.server.db import Base
from chainproof.server.db.session import make_engine

config = context.config
target_metadata = Base.metadata
# The advisory lock migrations take on PostgreSQL (any constant of chainproof's own).
_LOCK_KEY = 0x636870726F6F66  # "chproof"


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several processes may upgrade at start at once: one migrates while the others
                # wait here, then find the database at the head (the lock ends with the
                # transaction, which holds the whole upgrade: PostgreSQL's DDL is transactional).
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
            context.run_migrations()
    engine.dispose()


run_migrations_online()
