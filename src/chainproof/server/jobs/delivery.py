"""Worker loop: deliver the integration outbox (services/delivery.py).

Each pass claims the due deliveries in one short transaction, sends them from a thread pool
(``delivery_concurrency``), and records each attempt in its own transaction. Every process
running the jobs (``server start``, ``server worker``) runs this loop; on PostgreSQL several
share the work (``SKIP LOCKED``), on SQLite run one. Run events carry the run's evidence
(services/run_evidence.py) for the kinds that export it, read from ``source``, the CAS.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.db.base import utcnow
from chainproof.server.jobs import pause, run_pass
from chainproof.server.jobs.discover import blob_opener
from chainproof.server.services import delivery
from chainproof.server.services.cas import DbBackendSource
from chainproof.server.services.delivery import Claimed, RetryPolicy
from chainproof.server.services.run_evidence import RunEvidence

log = logging.getLogger(__name__)


def deliver_due(
    sessions: sessionmaker[Session],
    policy: RetryPolicy,
    *,
    now: datetime | None = None,
    concurrency: int = 8,
    limit: int = 50,
    source: DbBackendSource | None = None,
) -> int:
    """One pass: claim, send and record up to ``limit`` deliveries; how many got through.
    ``source``: the CAS, for the kinds that export a run's evidence (without it, they find
    none and fail the attempt)."""
    with sessions.begin() as session:
        claimed = delivery.claim(session, policy, now, limit)
    if not claimed:
        return 0
    with ThreadPoolExecutor(max_workers=min(concurrency, len(claimed))) as pool:
        results = list(pool.map(lambda c: _attempt(sessions, c, policy, source), claimed))
    return sum(results)


def _attempt(
    sessions: sessionmaker[Session],
    claimed: Claimed,
    policy: RetryPolicy,
    source: DbBackendSource | None,
) -> bool:
    run_id = claimed.event.data.get("run_id")
    if source is not None and run_id:
        content = RunEvidence(sessions, blob_opener(source), claimed.org_id, str(run_id))
        claimed = replace(claimed, event=replace(claimed.event, content=content))
    started = utcnow()
    outcome = delivery.send(claimed, policy.timeout)
    with sessions.begin() as session:
        delivery.finish(session, claimed, outcome, started, policy)
    if not outcome.ok:
        log.warning("delivery %s failed: %s", claimed.delivery_id, outcome.error)
    return outcome.ok


async def delivery_loop(
    sessions: sessionmaker[Session],
    policy: RetryPolicy,
    every_seconds: float,
    concurrency: int,
    stop: asyncio.Event,
    source: DbBackendSource | None = None,
) -> None:
    """Deliver what is due every ``every_seconds`` (at once again after a full batch)."""
    while not stop.is_set():
        sent = await run_pass("delivery", _pass, sessions, policy, concurrency, source)
        if not sent:
            await pause(stop, every_seconds)


def _pass(
    sessions: sessionmaker[Session],
    policy: RetryPolicy,
    concurrency: int,
    source: DbBackendSource | None,
) -> int:
    return deliver_due(sessions, policy, concurrency=concurrency, source=source)
