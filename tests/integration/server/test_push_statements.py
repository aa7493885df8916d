"""How many SQL statements a push costs once warm (issue 16: 74, of which a dozen re-read the
same trust keys and half a dozen the same workflow, project, organisation and contract).
A count, not a time: it fails when a change brings the repeated reads back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server.test_push import _materials, _sign, _statement, _upload
from tests.integration.server.test_signing_ca import _push, _second_run
from tests.integration.statements import recorded

from chainproof.server.db import VerificationSummary
from chainproof.server.services import after_push

#: What answering a push with one CAS material costs, on SQLite and PostgreSQL alike: the
#: token (1), the run locked with its context (1), the trusted material's fingerprint (1),
#: the material's CAS holdings (1), the log's batch when alone (3: lock and read the head,
#: leaves, new head), the attestation, its materials and the run (3), the workflow's
#: summary (2), the audit event (1). It was 42 in session 9 (the token in 3 statements, the
#: run read 3 times, the VSA and the findings reconcile before the answer); those two follow
#: the answer now (services/after_push.py).
MAX_STATEMENTS = 13


def test_a_warm_push_stays_within_its_statement_budget(
    app_client: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _push(app_client, first=True)  # service keys, log head, caches
    init = _second_run(app_client)
    run_id = init["run"]["id"]
    _upload(app_client, run_id)
    bundle = _sign(app_client, init, _statement(app_client, init))
    # TestClient runs a route's background tasks before it returns: kept aside, the
    # follow-up runs after the count, as it runs after the answer over real HTTP.
    follow_up = after_push.follow_up
    later: list[tuple[Any, ...]] = []
    monkeypatch.setattr(after_push, "follow_up", lambda *args: later.append(args))
    with recorded(app_client) as seen:
        body = {"bundle": bundle, "materials": _materials()}
        reply = app_client.post(f"/runs/{run_id}/attestation", body)
    assert reply.status_code == 200, reply.text
    assert len(seen) <= MAX_STATEMENTS, "\n".join(seen)
    # One read of the run, locked, with its workflow, project, organisation and contract.
    before_log = seen[: seen.index(_first_log_write(seen))]
    push_reads = [s for s in before_log if "FROM workflow_runs" in s]
    assert len(push_reads) == 1, push_reads
    assert [args[1] for args in later] == [run_id]  # scheduled once, for this run
    follow_up(*later[0])
    with app_client.sessions() as session:  # issued by the follow-up, not by a read
        assert session.scalar(select(VerificationSummary.id).filter_by(run_id=run_id))


def _first_log_write(seen: list[str]) -> str:
    return next(s for s in seen if s.lstrip().startswith("UPDATE tlog_logs"))
