"""Group commit: pushes that arrive together in one process share one log transaction and one
signed checkpoint, each with its own index, SET and inclusion proof; and the worker issues
the VSA a crash left missing."""

from __future__ import annotations

import base64
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run
from tests.integration.server.test_push import _materials, _sign, _statement, _upload
from tests.integration.server.test_tlog_api import _push, _root

from chainproof.core.merkle import leaf_hash, verify_inclusion
from chainproof.server.db import TlogLeaf, TransparencyLog, VerificationSummary
from chainproof.server.db.base import utcnow
from chainproof.server.jobs.vsa import repair_once
from chainproof.server.services import audit, tlog_group, vsa
from chainproof.signing.checkpoint import verify_checkpoint
from chainproof.signing.trust import TrustedRoot

PUSHES = 6


def _prepared(env: Env) -> tuple[str, dict[str, Any]]:
    init = init_run(env).json()
    run_id = init["run"]["id"]
    _upload(env, run_id)
    return run_id, _sign(env, init, _statement(env, init))


def _log_indexes(env: Env) -> list[int]:
    with env.sessions() as session:
        log_id = session.scalar(
            select(TransparencyLog.id).where(TransparencyLog.org_id == env.org["id"])
        )
        return list(
            session.scalars(select(TlogLeaf.idx).where(TlogLeaf.log_id == log_id).order_by("idx"))
        )


def test_concurrent_pushes_are_logged_in_one_batch(app_client: Env) -> None:
    env = app_client
    _push(env)  # the workflow, the keys and the log exist
    prepared = [_prepared(env) for _ in range(PUSHES)]
    with env.sessions() as session:
        committer = tlog_group._committer(session)
    queue = committer.queue(env.org["id"])
    before = (committer.stats.batches, committer.stats.entries)
    replies: list[Any] = [None] * PUSHES

    def push(i: int) -> None:
        run_id, bundle = prepared[i]
        body = {"bundle": bundle, "materials": _materials()}
        replies[i] = env.post(f"/runs/{run_id}/attestation", body)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(PUSHES)]
    # Hold the log as a batch in progress would: every push queues its entry meanwhile.
    with queue.commit:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(queue.pending) < PUSHES and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(queue.pending) == PUSHES
    for t in threads:
        t.join(timeout=120)
    assert [r.status_code for r in replies] == [200] * PUSHES, [r.text for r in replies]

    batches = committer.stats.batches - before[0]
    entries = committer.stats.entries - before[1]
    # Each push's attestation, then its VSA (after the answer). On SQLite the VSA's claim of
    # its summary row takes the database's write lock, so its entry is appended in its own
    # transaction, not by a batch (tlog_group): the log below still holds every one.
    assert entries == (PUSHES if env.settings.database_url.startswith("sqlite") else 2 * PUSHES)
    assert batches < entries
    logged = [r.json()["bundle"]["verificationMaterial"]["tlogEntries"][0] for r in replies]
    notes = {e["inclusionProof"]["checkpoint"]["envelope"] for e in logged}
    assert len(notes) == 1  # one checkpoint signed for the six attestations
    (log,) = TrustedRoot.from_json(_root(env)).tlogs
    signed = verify_checkpoint(notes.pop(), log)
    indexes = sorted(int(e["logIndex"]) for e in logged)
    assert indexes == list(range(signed.tree_size - PUSHES, signed.tree_size))
    for entry in logged:
        proof = entry["inclusionProof"]
        assert int(proof["treeSize"]) == signed.tree_size
        assert base64.b64decode(proof["rootHash"]) == signed.root_hash
        body = base64.b64decode(entry["canonicalizedBody"])
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(
            int(entry["logIndex"]), signed.tree_size, leaf_hash(body), hashes, signed.root_hash
        )
    # The whole log is gapless: the first push and its VSA, then every push and its VSA.
    size = 2 * (PUSHES + 1)
    assert _log_indexes(env) == list(range(size))
    assert env.get("/tlog/checkpoint").json()["tree_size"] == size


def test_the_worker_issues_a_missing_vsa(app_client: Env) -> None:
    env = app_client
    run = _push(env)
    # A crash between the push's commit and its VSA's: the run is recorded, the VSA is not.
    with env.sessions.begin() as session:
        session.execute(delete(VerificationSummary).where(VerificationSummary.run_id == run["id"]))
    size = env.get("/tlog/checkpoint").json()["tree_size"]

    with env.sessions() as session:  # within the grace the push's request still owns it
        assert run["id"] not in vsa.missing(session, before=utcnow() - vsa.GRACE)
    later = utcnow() + vsa.GRACE + timedelta(seconds=1)
    with env.sessions() as session:
        assert run["id"] in vsa.missing(session, before=later - vsa.GRACE)
    assert repair_once(env.sessions, now=later) >= 1

    reply = env.get(f"/runs/{run['id']}/vsa")
    assert reply.status_code == 200, reply.text
    statement = base64.b64decode(reply.json()["dsseEnvelope"]["payload"])
    assert b'"verificationResult":"PASSED"' in statement.replace(b" ", b"")
    assert env.get("/tlog/checkpoint").json()["tree_size"] == size + 1  # signed and logged
    with env.sessions() as session:
        assert run["id"] not in vsa.missing(session, before=later)


def test_a_caller_that_already_writes_is_not_kept_waiting(app_client: Env) -> None:
    """On SQLite a transaction that wrote holds the database's write lock: a batch of its own
    would wait for it while it waits for the batch, so its entry goes in its own transaction."""
    env = app_client
    _push(env)  # the keys and the log exist: entries 0 and 1
    with env.sessions.begin() as session:
        audit.record(session, env.org["id"], None, "test.write", "before-the-log")
        session.flush()
        entry = tlog_group.log_entry(
            session, env.org["id"], env.org["name"], b"an entry", now=utcnow()
        )
    assert int(entry["logIndex"]) == 2
    assert _log_indexes(env) == [0, 1, 2]
