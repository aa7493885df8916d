"""Group commit for the transparency log: the entries that arrive together are appended as one
short transaction of their own, and each gets its inclusion proof against one checkpoint.

A caller (a push, a VSA, a provenance) does all its own work first, then :func:`log_entry`
queues its body for the organisation's log. One waiting caller leads: it takes every queued
body of that log, and in one transaction locks the head, assigns the indexes, writes the
leaves, nodes and new head (:func:`.tlog.append_many`) and commits; then it signs ONE
checkpoint for the batch and hands each waiter its index and inclusion proof against it. Each
caller signs its own entry's SET. Entries queued while a batch commits form the next batch,
so the head-row lock is held for one short transaction per batch, not for a whole push.
A caller with several bodies (a batch of VSAs, :func:`log_entries`) queues them together, so
they land in one batch, each with its own index, proof and SET.
Across API processes the head-row lock still serialises the batches, and the unique
(log, index) constraint still makes a fork impossible.

**Crash semantics.** The entry is committed before the caller's own rows: if the caller then
fails, the log keeps an entry for something that was not recorded (as Rekor does). The log
never has a gap, and no caller is answered with an entry that is not committed.

**A batch must never wait for one of its own callers**, nor use what they have not
committed. It touches only the log's tables and signs with the log key its leader's
transaction read, so: :func:`prepare` creates any missing service key in a transaction of its
own before the caller's transaction could create it (once per organisation and process); and
when the caller's transaction already holds what a batch would wait for or rely on (on SQLite
the database's single write lock, taken by any write, e.g. refreshing a token's last use;
anywhere, a service key it created and has not committed), the entry is appended in the
caller's own transaction instead, as before group commit. Batches also draw their
connections from a pool of their own (see :class:`_Committer`).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from chainproof.server import tlog, tlog_entry
from chainproof.server.db import TrustKey
from chainproof.server.db.session import make_engine
from chainproof.server.services import trust_keys
from chainproof.server.telemetry import metrics

__all__ = ["log_entries", "log_entry", "prepare", "stats"]

#: Per-transaction keys of ``Session.info`` a batch's own session must not inherit.
_PRIVATE_INFO = ("chainproof.trust_cache.memo",)


@dataclass(frozen=True)
class _Logged:
    """Where a batch put an entry: what its waiter needs to build the entry's JSON."""

    key: trust_keys.ServiceKey
    batch: tlog.Batch
    offset: int
    hashes: list[bytes]
    note: str  # the batch's signed checkpoint

    def entry(self, entry: tlog.NewEntry) -> dict[str, Any]:
        """The ``TransparencyLogEntry`` (JSON), with the entry's own SET."""
        return tlog_entry.entry_of(
            self.key,
            index=self.batch.start + self.offset,
            body=entry.body,
            integrated_time=entry.integrated_time,
            tree_size=self.batch.tree_size,
            root_hash=self.batch.root_hash,
            hashes=self.hashes,
            note=self.note,
        )


@dataclass
class _Waiter:
    entry: tlog.NewEntry
    done: bool = False
    result: _Logged | None = None
    error: BaseException | None = None


@dataclass
class _Log:
    """One organisation's queue in this process."""

    pending: list[_Waiter] = field(default_factory=list)
    commit: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Stats:
    """What this process's group commit did (for tests and benchmarks)."""

    batches: int = 0
    entries: int = 0


class _Committer:
    """The queues of every log of one database, and the organisations known to be ready.

    Batches (and :func:`prepare`) use an engine of their own, with its own connection pool:
    their callers hold connections of the app's pool while they wait, so a batch drawing
    from that pool could wait for a connection that only its own waiters would free.
    """

    def __init__(self, app_engine: Engine) -> None:
        self.lock = threading.Lock()
        self.logs: dict[str, _Log] = {}
        self.ready: set[str] = set()
        self.stats = Stats()
        self.engine = app_engine
        if app_engine.url.database not in (None, "", ":memory:"):  # a memory database is private
            self.engine = make_engine(app_engine.url.render_as_string(hide_password=False))
            forward_statements(self.engine, app_engine)

    def queue(self, org_id: str) -> _Log:
        with self.lock:
            return self.logs.setdefault(org_id, _Log())


def forward_statements(engine: Engine, app_engine: Engine) -> None:
    """Let whatever watches the app engine's statements (the statement counter of
    ``count_sql``, a test's listener) see the log's statements too."""

    @event.listens_for(engine, "before_cursor_execute")
    def _forward(*args: Any) -> None:
        for listener in list(app_engine.dispatch.before_cursor_execute):
            listener(*args)


_COMMITTERS: weakref.WeakKeyDictionary[Engine, _Committer] = weakref.WeakKeyDictionary()
_COMMITTERS_LOCK = threading.Lock()


def _committer(session: Session) -> _Committer:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _COMMITTERS_LOCK:
        found = _COMMITTERS.get(engine)
        if found is None:
            found = _COMMITTERS[engine] = _Committer(engine)
            event.listen(engine, "engine_disposed", _disposed)
        return found


def _disposed(engine: Engine) -> None:
    # The app is done with its database: so is its log's pool.
    with _COMMITTERS_LOCK:
        found = _COMMITTERS.pop(engine, None)
    if found is not None and found.engine is not engine:
        found.engine.dispose()


def stats(session: Session) -> Stats:
    """The group-commit counters of ``session``'s database in this process."""
    return _committer(session).stats


def _own_session(session: Session) -> Session:
    """A new session on ``session``'s database, from the log's own pool, carrying its
    settings (secret key, caches)."""
    info = {k: v for k, v in session.info.items() if k not in _PRIVATE_INFO}
    return Session(bind=_committer(session).engine, info=info, expire_on_commit=False)


def _holds_write_lock(session: Session) -> bool:
    """Whether ``session``'s SQLite connection is inside a write transaction (pysqlite opens
    one at the first write, and holds the database's write lock until it ends)."""
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    raw = session.connection().connection.dbapi_connection
    return bool(getattr(raw, "in_transaction", False))


def _current_purposes(session: Session, org_id: str) -> set[str]:
    stmt = select(TrustKey.purpose).where(TrustKey.org_id == org_id, TrustKey.valid_until.is_(None))
    return set(session.scalars(stmt))


def prepare(session: Session, org_id: str, org_name: str, *, now: datetime) -> bool:
    """Make sure the organisation's log, CT log and TSA keys exist, committed, before the
    caller's transaction can create one (checked once per organisation and process).

    False when the log must be appended in the caller's own transaction instead: it holds
    SQLite's write lock, or it created one of those keys itself (a batch, committed first,
    must not sign with a key that is not committed yet, nor create another).
    """
    committer = _committer(session)
    if org_id in committer.ready:
        return True
    if _holds_write_lock(session):
        return False
    mine = _current_purposes(session, org_id)
    with _own_session(session) as own, own.begin():
        if not mine.issubset(_current_purposes(own, org_id)):
            return False  # the caller's transaction made a key not committed yet
        for purpose in ("tlog", "ctlog"):
            trust_keys.current_key(own, org_id, purpose, now=now)
        trust_keys.tsa(own, org_id, org_name, now=now)
    committer.ready.add(org_id)
    return True


def log_entry(
    session: Session,
    org_id: str,
    org_name: str,
    body: bytes,
    *,
    now: datetime,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Log ``body`` in the organisation's log; its ``TransparencyLogEntry`` (JSON)."""
    return log_entries(session, org_id, org_name, [(body, run_id)], now=now)[0]


def log_entries(
    session: Session,
    org_id: str,
    org_name: str,
    bodies: list[tuple[bytes, str | None]],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """Log each ``(body, run_id)`` in the organisation's log, in order, in one batch; their
    ``TransparencyLogEntry`` objects (JSON), each with its own index, proof and SET."""
    entries = [tlog.NewEntry(body, run_id, int(now.timestamp())) for body, run_id in bodies]
    if _holds_write_lock(session) or not prepare(session, org_id, org_name, now=now):
        return _in_transaction(session, org_id, org_name, entries, now)
    # The key as the caller's transaction knows it (the trust cache checked it there): the
    # batch this caller leads signs with it, as its own transaction would have.
    key = trust_keys.current_key(session, org_id, "tlog", now=now)
    committer = _committer(session)
    queue = committer.queue(org_id)
    waiters = [_Waiter(entry) for entry in entries]
    with committer.lock:  # queued together, so one batch takes them all
        queue.pending.extend(waiters)
    with queue.commit:  # one batch at a time per log in this process
        if not waiters[0].done:  # no batch took them yet: lead one with everything queued
            with committer.lock:
                batch, queue.pending = queue.pending, []
            _commit(session, committer, key, org_id, org_name, batch)
    logged = []
    for waiter in waiters:
        if waiter.error is not None:
            raise waiter.error
        assert waiter.result is not None
        logged.append(waiter.result.entry(waiter.entry))  # its SET signed here, outside
    return logged


def _in_transaction(
    session: Session, org_id: str, org_name: str, entries: list[tlog.NewEntry], now: datetime
) -> list[dict[str, Any]]:
    key = trust_keys.current_key(session, org_id, "tlog", now=now)
    log, batch = tlog.append_to_org(session, org_id, org_name, entries)
    note = tlog.checkpoint(log, key, batch.tree_size, batch.root_hash)
    proofs = batch.proofs()
    return [
        _Logged(key, batch, offset, proofs[offset], note).entry(entry)
        for offset, entry in enumerate(entries)
    ]


def _commit(
    session: Session,
    committer: _Committer,
    key: trust_keys.ServiceKey,
    org_id: str,
    org_name: str,
    batch: list[_Waiter],
) -> None:
    """Append ``batch`` in one transaction, then answer every waiter (or fail them all)."""
    try:
        with _own_session(session) as own, own.begin():
            log, appended = tlog.append_to_org(own, org_id, org_name, [w.entry for w in batch])
        # Signed once committed: a checkpoint never names a tree that could roll back.
        note = tlog.checkpoint(log, key, appended.tree_size, appended.root_hash)
        for offset, (waiter, hashes) in enumerate(zip(batch, appended.proofs(), strict=True)):
            waiter.result = _Logged(key, appended, offset, hashes, note)
        with committer.lock:
            committer.stats.batches += 1
            committer.stats.entries += len(batch)
        metrics.TLOG_BATCHES.inc()
        metrics.TLOG_BATCHED_ENTRIES.inc(len(batch))
    except BaseException as err:
        for waiter in batch:
            waiter.error = err
        raise
    finally:
        for waiter in batch:
            waiter.done = True
