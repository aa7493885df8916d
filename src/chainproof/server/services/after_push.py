"""What follows a push's answer: the run's VSA and its workflow's drift findings.

Neither is needed to answer the push, and together they were about half of its time (the VSA
signs and logs a second bundle; the findings reconcile reads the workflow's history), so the
route schedules :func:`follow_up` to run once the answer is sent.

Under load many follow-ups are pending at once, mostly for one organisation, so they are
coalesced per process: :func:`follow_up` queues its run, and unless a drain is running it
drains the queue itself, in batches of up to :data:`BATCH` runs (a follow-up that finds a
drain running just returns; the drainer takes its run in its next batch). A batch is one
transaction (:func:`.vsa.issue_many`: one claim, one log batch, one update, one audit insert,
then each distinct workflow's findings once, in a savepoint). A failure is logged, never
raised: a client that reads the VSA first gets it issued on the spot (:func:`.slsa.ensure_vsa`),
the worker's ``vsa_repair`` issues any still missing after :data:`.vsa.GRACE`, and its periodic
findings job reconciles every workflow (server/jobs/). See docs/architecture.md §6.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.services import findings, vsa
from chainproof.server.telemetry import metrics

__all__ = ["BATCH", "follow_up", "follow_ups"]

log = logging.getLogger(__name__)

#: The most runs one batch issues (a bound on its transaction's length and size).
BATCH = 100


@dataclass(frozen=True)
class _Pending:
    run_id: str
    workflow_id: str
    now: datetime | None


@dataclass
class _Queue:
    """One app's pending follow-ups in this process, and whether one of them is draining."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[_Pending] = field(default_factory=list)
    draining: bool = False


# Keyed by the app's sessionmaker: two apps in one process (tests) never mix their runs.
_QUEUES: weakref.WeakKeyDictionary[sessionmaker[Session], _Queue] = weakref.WeakKeyDictionary()
_QUEUES_LOCK = threading.Lock()


def _queue(sessions: sessionmaker[Session]) -> _Queue:
    with _QUEUES_LOCK:
        found = _QUEUES.get(sessions)
        if found is None:
            found = _QUEUES[sessions] = _Queue()
        return found


def follow_up(
    sessions: sessionmaker[Session],
    run_id: str,
    workflow_id: str,
    now: datetime | None = None,
) -> None:
    """Issue the VSA of pushed run ``run_id`` and reconcile its workflow's findings, at
    ``now`` (default: when its batch runs), here or in the batch of a drain already running."""
    follow_ups(sessions, [(run_id, workflow_id)], now)


def follow_ups(
    sessions: sessionmaker[Session],
    runs: list[tuple[str, str]],
    now: datetime | None = None,
) -> None:
    """:func:`follow_up` each ``(run_id, workflow_id)``: queued together, so a drain takes
    them in one batch (up to :data:`BATCH`)."""
    queue = _queue(sessions)
    with queue.lock:
        queue.pending.extend(_Pending(run_id, workflow_id, now) for run_id, workflow_id in runs)
        if queue.draining:
            return
        queue.draining = True
    try:
        while batch := _next_batch(queue):  # the last one, empty, ends the drain
            _follow_up_batch(sessions, batch)
    except BaseException:
        with queue.lock:  # the next follow-up drains what is left
            queue.draining = False
        raise


def _next_batch(queue: _Queue) -> list[_Pending]:
    """The next runs to issue (up to :data:`BATCH`, sharing one ``now``); at the end of the
    queue, none, and the drain is over."""
    with queue.lock:
        batch: list[_Pending] = []
        for item in queue.pending[:BATCH]:
            if item.now != queue.pending[0].now:
                break
            batch.append(item)
        del queue.pending[: len(batch)]
        queue.draining = bool(batch)
        return batch


def _follow_up_batch(sessions: sessionmaker[Session], batch: list[_Pending]) -> None:
    now = batch[0].now
    run_ids = [item.run_id for item in batch]
    workflow_ids = sorted({item.workflow_id for item in batch})
    outcome = "done"
    # Counted apart from the requests' statements (chainproof_db_statements_total).
    with metrics.statement_phase("after_answer"), sessions() as session:
        reconciled = False
        try:
            with session.begin():
                vsa.issue_many(session, run_ids, now)
                reconciled = _reconcile(session, workflow_ids, now)
        except Exception:
            outcome = "failed"
            log.exception("the VSAs of runs %s were not issued; the worker will", run_ids)
            if not reconciled:  # the VSAs failed first: the findings still get their turn
                with session.begin():
                    reconciled = _reconcile(session, workflow_ids, now)
        if not reconciled:
            outcome = "failed"
    metrics.PUSH_FOLLOW_UPS.labels(outcome).inc(len(batch))


def _reconcile(session: Session, workflow_ids: list[str], now: datetime | None) -> bool:
    """Reconcile the workflows' findings in a savepoint (a failure cannot undo the batch's
    VSAs); whether it did."""
    try:
        with session.begin_nested():
            findings.on_runs_changed(session, workflow_ids, now)
    except Exception:
        log.exception(
            "the findings of workflows %s were not reconciled; the periodic job will",
            workflow_ids,
        )
        return False
    return True
