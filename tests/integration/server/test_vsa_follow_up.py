"""The VSA follows the push's answer (services/after_push.py), and a reader never misses it.

Over real HTTP (a uvicorn server in a thread, on SQLite and PostgreSQL: TestClient runs a
route's background tasks before it returns, so it cannot show the race): a client that reads
the VSA right after the push's answer always gets it, issued on the spot when the follow-up
has not yet. Readers, follow-ups and the worker racing for one run issue ONE VSA, logged
once. And issuing a VSA stays within its statement budget.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from tests.integration.conftest import Env
from tests.integration.server.test_push import _materials, _sign, _statement, _upload
from tests.integration.server.test_signing_ca import _push, _second_run
from tests.integration.statements import recorded
from tests.served import served

from chainproof.server.db import TlogLeaf, VerificationSummary
from chainproof.server.services import vsa

PUSHES = 12
RACERS = 4

#: Statements of a warm VSA issue in a fresh session, as the push's follow-up runs it: 10 on
#: SQLite and PostgreSQL (the run; the claim, which is also the check; the attestation with
#: the run's workflow, project, organisation and contract; the materials; the trust keys'
#: fingerprint; the log's three; the summary's fill; the audit event). Was 11 inside the
#: push's session, which held the run's context. Headroom: 2.
MAX_STATEMENTS = 12


@pytest.fixture
def live(app_and_client: tuple[Any, Any], app_client: Env) -> Iterator[Env]:
    """``app_client``'s organisation through the same app served by uvicorn on loopback."""
    with (
        served(app_and_client[0]) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
    ):
        yield dataclasses.replace(app_client, client=client)  # type: ignore[arg-type]


def _vsa_leaves(env: Env, run_id: str) -> int:
    """Log entries of ``run_id`` (its attestation's and its VSA's)."""
    with env.sessions() as session:
        stmt = select(func.count()).select_from(TlogLeaf).where(TlogLeaf.run_id == run_id)
        return int(session.scalar(stmt) or 0)


def _summaries(env: Env, run_id: str) -> int:
    with env.sessions() as session:
        stmt = select(func.count()).select_from(VerificationSummary)
        return int(session.scalar(stmt.where(VerificationSummary.run_id == run_id)) or 0)


def _settled(env: Env, run_ids: list[str]) -> None:
    """Wait for the follow-ups still running after their answers (bounded)."""
    deadline = time.monotonic() + 60
    while any(_summaries(env, r) == 0 for r in run_ids) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_vsa_read_right_after_the_push_answer_is_there(live: Env) -> None:
    _push(live, first=True)
    run_ids = []
    for _ in range(PUSHES):
        init = _second_run(live)
        run_id = init["run"]["id"]
        _upload(live, run_id)
        bundle = _sign(live, init, _statement(live, init))
        pushed = live.post(
            f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()}
        )
        assert pushed.status_code == 200, pushed.text
        read = live.get(f"/runs/{run_id}/vsa")  # at once: the follow-up may not have run
        assert read.status_code == 200, read.text
        assert read.json()["verificationMaterial"]["tlogEntries"]
        run_ids.append(run_id)
    _settled(live, run_ids)
    for run_id in run_ids:  # the read and the follow-up raced: one VSA, logged once
        assert _summaries(live, run_id) == 1
        assert _vsa_leaves(live, run_id) == 2  # the attestation's entry and the VSA's


def test_readers_follow_ups_and_the_worker_issue_one_vsa(live: Env) -> None:
    _push(live, first=True)
    run_id = _push_run(live)
    with live.sessions.begin() as session:  # as if the follow-up had not run yet
        session.execute(delete(VerificationSummary).where(VerificationSummary.run_id == run_id))
    assert _vsa_leaves(live, run_id) == 2
    start = threading.Barrier(2 * RACERS)
    reads: list[Any] = []
    issued: list[bool] = []

    def read() -> None:
        start.wait()
        reads.append(live.get(f"/runs/{run_id}/vsa"))

    def follow_up() -> None:
        start.wait()
        with live.sessions.begin() as session:
            issued.append(vsa.issue(session, run_id))

    threads = [threading.Thread(target=f) for f in (read, follow_up) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [r.status_code for r in reads] == [200] * RACERS, [r.text for r in reads]
    assert len({r.text for r in reads}) == 1  # every reader got the same bundle
    assert len(issued) == RACERS and issued.count(True) <= 1
    assert _summaries(live, run_id) == 1
    assert _vsa_leaves(live, run_id) == 3  # one more entry: one VSA signed and logged


def _push_run(env: Env) -> str:
    init = _second_run(env)
    run_id = str(init["run"]["id"])
    _upload(env, run_id)
    bundle = _sign(env, init, _statement(env, init))
    reply = env.post(f"/runs/{run_id}/attestation", {"bundle": bundle, "materials": _materials()})
    assert reply.status_code == 200, reply.text
    _settled(env, [run_id])
    return run_id


def test_issuing_a_vsa_stays_within_its_statement_budget(app_client: Env) -> None:
    _push(app_client, first=True)  # service keys, log head, caches
    run_id = _push_run(app_client)
    with app_client.sessions.begin() as session:
        session.execute(delete(VerificationSummary).where(VerificationSummary.run_id == run_id))
    with recorded(app_client) as seen, app_client.sessions.begin() as session:
        assert vsa.issue(session, run_id) is True  # one VSA, as the repair job issues it
    assert len(seen) <= MAX_STATEMENTS, "\n".join(seen)
    summary_reads = [s for s in seen if "FROM verification_summaries" in s]
    assert summary_reads == []  # the claim is the check: no separate look-up
