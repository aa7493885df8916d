"""How many SQL statements a push costs once warm (issue 16: 74, of which a dozen re-read the
same trust keys and half a dozen the same workflow, project, organisation and contract).
A count, not a time: it fails when a change brings the repeated reads back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from tests.integration.conftest import Env
from tests.integration.server.test_push import _materials, _sign, _statement, _upload
from tests.integration.server.test_signing_ca import _push, _second_run

#: Today's count is 41 on SQLite (PostgreSQL adds nothing): headroom for small additions.
MAX_STATEMENTS = 45


def test_a_warm_push_stays_within_its_statement_budget(app_client: Env) -> None:
    _push(app_client, first=True)  # service keys, log head, caches
    init = _second_run(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    bundle = _sign(app_client, init, _statement(app_client, init))
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    engine = app_client.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        body = {"bundle": bundle, "materials": _materials()}
        reply = app_client.post(f"/runs/{run_id}/attestation", body)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert reply.status_code == 200, reply.text
    assert len(seen) <= MAX_STATEMENTS, "\n".join(seen)
    # One read of the run, locked, with its workflow, project, organisation and contract.
    push_reads = [s for s in seen[: seen.index(_first_log_write(seen))] if "FROM workflow_runs" in s]
    assert len(push_reads) == 1, push_reads


def _first_log_write(seen: list[str]) -> str:
    return next(s for s in seen if s.lstrip().startswith("UPDATE tlog_logs"))
