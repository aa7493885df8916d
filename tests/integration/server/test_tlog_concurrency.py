"""Concurrent appends from several workers, each on its own database connection, never fork
the log or leave a gap; the first appends also race to create the log and its key."""

from __future__ import annotations

import secrets
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.tlog_helpers import mth

from chainproof.core.merkle import leaf_hash, verify_inclusion
from chainproof.server import tlog
from chainproof.server.bootstrap import create_org
from chainproof.server.db import TlogLeaf, TrustKey
from chainproof.server.services import trust_keys
from chainproof.signing.checkpoint import verify_checkpoint
from chainproof.signing.trust import LogInstance, TrustedRoot, trusted_root_json

WORKERS = 4
APPENDS = 25


def test_parallel_appends_give_one_gapless_log(sessions: sessionmaker[Session]) -> None:
    name = f"org-{secrets.token_hex(4)}"
    with sessions.begin() as session:
        org, _ = create_org(session, name)
    org_id = str(org["id"])
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(APPENDS):
                with sessions.begin() as session:
                    trust_keys.current_key(session, org_id, "tlog")
                    log = tlog.log_of(session, org_id, name)
                    tlog.append(session, log, f"worker {worker} entry {i}".encode())
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    total = WORKERS * APPENDS
    with sessions() as session:
        keys = session.scalars(
            select(TrustKey).where(TrustKey.org_id == org_id, TrustKey.purpose == "tlog")
        ).all()
        assert len(keys) == 1  # the creation race had one winner
        log = tlog.log_of(session, org_id, name)
        rows = session.scalars(
            select(TlogLeaf).where(TlogLeaf.log_id == log.id).order_by(TlogLeaf.idx)
        ).all()
        assert [r.idx for r in rows] == list(range(total))
        bodies = [r.body for r in rows]
        assert sorted(bodies) == sorted(
            f"worker {w} entry {i}".encode() for w in range(WORKERS) for i in range(APPENDS)
        )
        assert log.tree_size == total and log.root_hash == mth(bodies)
        key = trust_keys.current_key(session, org_id, "tlog")
        note = tlog.checkpoint(log, key, log.tree_size, log.root_hash)
        root = TrustedRoot.from_json(
            trusted_root_json(
                [],
                start=key.valid_from,
                tlogs=[LogInstance("https://log.test", key.public_key_der, key.valid_from)],
            )
        )
        signed = verify_checkpoint(note, root.tlogs[0])
        assert signed.tree_size == total
        for row in rows:
            path = tlog.inclusion_proof(session, log, row.idx, total)
            verify_inclusion(row.idx, total, leaf_hash(row.body), path, signed.root_hash)
