"""Where a database stands against the shipped migrations (``server migrate current`` and
``history``), and several processes upgrading one PostgreSQL database at once."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from tests.pg import pg_database

from chainproof.server.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    history,
    migrate,
    status,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    yield from pg_database()


def test_status_from_empty_to_head_and_back_one(fresh_url: str) -> None:
    shipped = [r["revision"] for r in history()]
    assert shipped[-1] == head_revision() and shipped[0] == "0001"
    empty = status(fresh_url)
    assert empty.current is None and empty.known and list(empty.pending) == shipped
    migrate(fresh_url)
    at_head = status(fresh_url)
    assert at_head.at_head and at_head.pending == () and current_revision(fresh_url) == shipped[-1]
    command.downgrade(alembic_config(fresh_url), "-1")
    behind = status(fresh_url)
    assert behind.current == shipped[-2] and behind.pending == (shipped[-1],)
    assert not behind.at_head and behind.view()["pending"] == [shipped[-1]]


@pytest.mark.postgres
def test_processes_upgrading_one_postgres_database_at_once_all_succeed() -> None:
    """Each process with auto_migrate on upgrades at start: the first migrates, the others
    wait for it and find the database at the head (no duplicate-table errors)."""
    code = "import sys; from chainproof.server.db.migrate import migrate; migrate(sys.argv[1])"
    with contextlib.contextmanager(pg_database)() as url:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(3)
        ]
        outcomes = [(p.wait(timeout=240), p.communicate()[1].decode()[-2000:]) for p in procs]
        assert all(rc == 0 for rc, _ in outcomes), outcomes
        assert status(url).at_head
