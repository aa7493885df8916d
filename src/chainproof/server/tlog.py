"""The organisation's transparency log: an append-only RFC 6962 Merkle tree in the database.

**Entries** are Rekor v1 ``dsse`` 0.0.1 bodies with a signed entry timestamp
(server/tlog_entry.py).

**Storage.** ``tlog_logs`` holds each organisation's head: size, root and right frontier
(the hashes of the perfect subtrees the tree decomposes into). ``tlog_leaves`` holds each
entry (index, leaf hash, body, integrated time) and ``tlog_nodes`` the hash of every
complete aligned subtree above the leaves. An append reads nothing but the head: it writes
the leaf, the 1 + (trailing ones of the index) nodes it completes, and the new head. Any
inclusion or consistency proof, for the current or an earlier size, needs O(log n) stored
hashes (:func:`chainproof.core.merkle.perfect_subtrees`), fetched in one query.

**Serialisation.** An append first ``UPDATE``s its head row: PostgreSQL row-locks it until
the transaction ends, SQLite takes its database write lock. Concurrent appends from any
number of API processes therefore queue per log, and the unique (log, index) constraint
makes a fork impossible even if that were bypassed. :func:`append_many` appends a batch
under one lock; services/tlog_group.py gives it the entries that arrive together in one
process, in a short transaction of its own (group commit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainproof.core.merkle import (
    HASH_SIZE,
    appended_inclusion_proofs,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    perfect_subtrees,
)
from chainproof.errors import InvalidInput, NotFound
from chainproof.server.db import TlogLeaf, TlogNode, TransparencyLog
from chainproof.server.db.base import utcnow
from chainproof.server.services.trust_keys import ServiceKey
from chainproof.server.tlog_entry import entry_of
from chainproof.signing.checkpoint import sign_checkpoint

__all__ = [
    "Appended",
    "Batch",
    "NewEntry",
    "append",
    "append_many",
    "append_to_org",
    "checkpoint",
    "consistency_proof",
    "entry_json",
    "inclusion_proof",
    "log_of",
    "origin_for",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 6962 §2.1: MTH({}) = SHA-256()


def origin_for(org_name: str) -> str:
    """The checkpoint origin of an organisation's log (a schema-less URL, C2SP)."""
    return f"chainproof.local/{org_name}/tlog"


# -- the head ----------------------------------------------------------------------------
def log_of(session: Session, org_id: str, org_name: str) -> TransparencyLog:
    """The organisation's log head, created empty on first use (race-safe: one per org)."""
    row = session.scalar(select(TransparencyLog).where(TransparencyLog.org_id == org_id))
    if row is not None:
        return row
    candidate = TransparencyLog(
        org_id=org_id,
        origin=origin_for(org_name),
        tree_size=0,
        root_hash=EMPTY_ROOT,
        frontier=b"",
    )
    try:
        with session.begin_nested():
            session.add(candidate)
            session.flush()
    except IntegrityError:
        row = session.scalar(select(TransparencyLog).where(TransparencyLog.org_id == org_id))
        if row is None:  # pragma: no cover - the unique constraint guarantees a row
            raise
        return row
    return candidate


def _lock(session: Session, log: TransparencyLog, now: datetime) -> TransparencyLog:
    # UPDATE before reading: the row lock (PostgreSQL) or write lock (SQLite) is held from
    # here to the end of the transaction, and the re-read sees the last committed head.
    session.execute(
        update(TransparencyLog).where(TransparencyLog.id == log.id).values(updated_at=now)
    )
    locked = session.scalar(
        select(TransparencyLog)
        .where(TransparencyLog.id == log.id)
        .execution_options(populate_existing=True)
    )
    assert locked is not None
    return locked


def _frontier(raw: bytes) -> list[bytes]:
    return [raw[i : i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)]


def _root(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


@dataclass(frozen=True)
class Appended:
    """Where an entry landed: its index, the tree size and root right after it."""

    index: int
    integrated_time: int
    tree_size: int
    root_hash: bytes


@dataclass(frozen=True)
class Batch:
    """Entries appended together: the first one's index, the tree right after the last, and
    what proves each entry against that tree without reading the log again."""

    start: int
    tree_size: int
    root_hash: bytes
    frontier: tuple[bytes, ...]  # the tree's frontier before the batch
    leaf_hashes: tuple[bytes, ...]

    def proofs(self) -> list[list[bytes]]:
        """Each entry's audit path in the tree of ``tree_size`` leaves, in batch order."""
        return appended_inclusion_proofs(self.start, self.frontier, self.leaf_hashes)


@dataclass(frozen=True)
class NewEntry:
    """An entry to append: its canonical body, the run it belongs to, its integrated time."""

    body: bytes
    run_id: str | None
    integrated_time: int


def append(
    session: Session,
    log: TransparencyLog,
    body: bytes,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> Appended:
    """Append ``body`` as the next leaf of ``log`` (serialised per log; see the module doc)."""
    now = now or utcnow()
    integrated = int(now.timestamp())
    batch = append_many(session, log, [NewEntry(body, run_id, integrated)], now=now)
    return Appended(batch.start, integrated, batch.tree_size, batch.root_hash)


def append_many(
    session: Session,
    log: TransparencyLog,
    entries: Sequence[NewEntry],
    *,
    now: datetime | None = None,
) -> Batch:
    """Append ``entries`` as the next leaves of ``log``, in order, under one lock of its
    head (serialised per log; see the module doc). Runs in the caller's transaction."""
    return _append_locked(session, _lock(session, log, now or utcnow()), entries)


def append_to_org(
    session: Session, org_id: str, org_name: str, entries: Sequence[NewEntry]
) -> tuple[TransparencyLog, Batch]:
    """:func:`append_many` to the organisation's log, locking its head and reading it in one
    statement (``UPDATE ... RETURNING``) once the log exists; the head and the batch."""
    locked = session.scalars(
        update(TransparencyLog)
        .where(TransparencyLog.org_id == org_id)
        .values(updated_at=utcnow())
        .returning(TransparencyLog),
        execution_options={"populate_existing": True},
    ).one_or_none()
    if locked is None:  # its first entry
        locked = _lock(session, log_of(session, org_id, org_name), utcnow())
    return locked, _append_locked(session, locked, entries)


def _append_locked(session: Session, head: TransparencyLog, entries: Sequence[NewEntry]) -> Batch:
    start = head.tree_size
    before = _frontier(head.frontier)
    frontier = list(before)
    nodes, hashes = [], []
    for offset, entry in enumerate(entries):
        index = start + offset
        current = leaf_hash(entry.body)
        hashes.append(current)
        level, position = 0, index
        while position & 1:  # each trailing one of the index completes a subtree
            current = node_hash(frontier.pop(), current)
            level += 1
            position >>= 1
            nodes.append(TlogNode(log_id=head.id, level=level, idx=position, hash=current))
        frontier.append(current)
    session.add_all(
        TlogLeaf(
            log_id=head.id,
            idx=start + offset,
            leaf_hash=hashes[offset],
            body=entry.body,
            integrated_time=entry.integrated_time,
            run_id=entry.run_id,
        )
        for offset, entry in enumerate(entries)
    )
    session.add_all(nodes)
    head.tree_size = start + len(entries)
    head.frontier = b"".join(frontier)
    head.root_hash = _root(frontier)
    session.flush()
    return Batch(start, head.tree_size, head.root_hash, tuple(before), tuple(hashes))


# -- proofs ------------------------------------------------------------------------------
def _hashes(session: Session, log_id: str, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """The Merkle hash of each ``[start, end)``, from stored leaves and nodes (one query
    per table)."""
    parts = [perfect_subtrees(start, end) for start, end in ranges]
    wanted = {p for subtrees in parts for p in subtrees}
    leaves = [i for level, i in wanted if level == 0]
    nodes = [(level, i) for level, i in wanted if level > 0]
    found: dict[tuple[int, int], bytes] = {}
    if leaves:
        rows = session.execute(
            select(TlogLeaf.idx, TlogLeaf.leaf_hash).where(
                TlogLeaf.log_id == log_id, TlogLeaf.idx.in_(leaves)
            )
        )
        found.update({(0, i): h for i, h in rows})
    if nodes:
        node_rows = session.execute(
            select(TlogNode.level, TlogNode.idx, TlogNode.hash).where(
                TlogNode.log_id == log_id, tuple_(TlogNode.level, TlogNode.idx).in_(nodes)
            )
        )
        found.update({(level, i): h for level, i, h in node_rows})
    out = []
    for subtrees in parts:
        hashes = [found[s] for s in subtrees]
        out.append(_root(hashes))
    return out


def _check_size(log: TransparencyLog, size: int, what: str) -> None:
    if not 0 < size <= log.tree_size:
        raise InvalidInput(
            f"{what} {size} is outside the log (its size is {log.tree_size})",
            hint="ask for a size between 1 and the checkpoint's tree size",
        )


def inclusion_proof(
    session: Session, log: TransparencyLog, index: int, tree_size: int
) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of size ``tree_size`` (RFC 6962)."""
    _check_size(log, tree_size, "tree size")
    if not 0 <= index < tree_size:
        raise NotFound(f"log entry {index} is not in a tree of size {tree_size}")
    return _hashes(session, log.id, inclusion_ranges(index, tree_size))


def consistency_proof(
    session: Session, log: TransparencyLog, first: int, second: int
) -> list[bytes]:
    """The RFC 6962 consistency proof from size ``first`` to size ``second``."""
    _check_size(log, second, "second")
    if not 0 < first <= second:
        raise InvalidInput(f"first must be between 1 and second ({second}), not {first}")
    return _hashes(session, log.id, consistency_ranges(first, second))


def root_at(session: Session, log: TransparencyLog, tree_size: int) -> bytes:
    """The root hash of the tree when it had ``tree_size`` leaves."""
    _check_size(log, tree_size, "tree size")
    if tree_size == log.tree_size:
        return log.root_hash
    return _hashes(session, log.id, [(0, tree_size)])[0]


def checkpoint(log: TransparencyLog, key: ServiceKey, tree_size: int, root_hash: bytes) -> str:
    """The signed checkpoint (C2SP signed note) of the tree of ``tree_size`` leaves."""
    return sign_checkpoint(log.origin, tree_size, root_hash, key.private_key)


def entry_json(
    session: Session,
    log: TransparencyLog,
    key: ServiceKey,
    *,
    index: int,
    body: bytes,
    integrated_time: int,
    tree_size: int,
    root_hash: bytes,
) -> dict[str, Any]:
    """The protobuf-specs ``TransparencyLogEntry`` (JSON) of the entry at ``index``: SET,
    inclusion proof against the tree of ``tree_size`` leaves and its signed checkpoint."""
    return entry_of(
        key,
        index=index,
        body=body,
        integrated_time=integrated_time,
        tree_size=tree_size,
        root_hash=root_hash,
        hashes=inclusion_proof(session, log, index, tree_size),
        note=checkpoint(log, key, tree_size, root_hash),
    )


def leaf(session: Session, log: TransparencyLog, index: int) -> TlogLeaf:
    """The stored leaf at ``index``; NotFound outside the log."""
    row = session.scalar(select(TlogLeaf).where(TlogLeaf.log_id == log.id, TlogLeaf.idx == index))
    if row is None:
        raise NotFound(f"log entry {index} does not exist (the log has {log.tree_size})")
    return row
