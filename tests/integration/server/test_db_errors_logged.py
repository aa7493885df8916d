"""A database error is logged without the statement's parameters (issue 15).

The database really fails: a trigger refuses one project name, on SQLite and PostgreSQL, and
the request goes through the app's own error handler, which logs the exception.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from tests.integration.conftest import Env

_SQLITE = [
    "CREATE TRIGGER refuse_marked BEFORE INSERT ON projects WHEN NEW.name LIKE 'marked-%' "
    "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END",
]
_POSTGRES = [
    "CREATE OR REPLACE FUNCTION refuse_marked() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'refused by the test trigger'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_marked BEFORE INSERT ON projects FOR EACH ROW "
    "WHEN (NEW.name LIKE 'marked-%') EXECUTE FUNCTION refuse_marked()",
]


@pytest.fixture
def refusing_db(app_client: Env) -> Iterator[None]:
    """Inserting a project named ``marked-...`` fails inside the database."""
    engine = app_client.sessions.kw["bind"]
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        for statement in _SQLITE if sqlite else _POSTGRES:
            conn.execute(text(statement))
    yield
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_marked" + ("" if sqlite else " ON projects")))


@pytest.mark.usefixtures("refusing_db")
def test_a_database_error_is_logged_without_its_parameters(
    app_client: Env, caplog: pytest.LogCaptureFixture
) -> None:
    marker = f"marked-{secrets.token_hex(8)}"
    with caplog.at_level(logging.ERROR):
        reply = app_client.post("/projects", {"name": marker})
    assert reply.status_code == 500, reply.text
    assert marker not in reply.text
    # The failure is logged (with the statement), but not the value it carried.
    logged = "\n".join(
        r.getMessage() + "\n" + (caplog.handler.format(r) if r.exc_info else "")
        for r in caplog.records
    )
    assert "refused by the test trigger" in logged
    assert "INSERT INTO projects" in logged
    assert marker not in logged
