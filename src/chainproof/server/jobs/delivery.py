"""Worker loop: deliver the integration outbox (services/delivery.py).

Each pass claims the due deliveries in one short transaction, sends them from a thread pool
(``delivery_concurrency``), and records each attempt in its own transaction. Every process
running the jobs (``server start``, ``server worker``) runs this loop; on PostgreSQL several
share the work (``SKIP LOCKED``), on SQLite run one.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.db.base import utcnow
from chainproof.server.jobs import pause, run_pass
from chainproof.server.services import delivery
from chainproof.server.services.delivery import Claimed, RetryPolicy

log = logging.getLogger(__name__)


def deliver_due(
    sessions: sessionmaker[Session],
    policy: RetryPolicy,
    *,
    now: datetime | None = None,
    concurrency: int = 8,
    limit: int = 50,
) -> int:
    """One pass: claim, send and record up to ``limit`` deliveries; how many got through."""
    with sessions.begin() as session:
        claimed = delivery.claim(session, policy, now, limit)
    if not claimed:
        return 0
    with ThreadPoolExecutor(max_workers=min(concurrency, len(claimed))) as pool:
        results = list(pool.map(lambda c: _attempt(sessions, c, policy), claimed))
    return sum(results)


def _attempt(sessions: sessionmaker[Session], claimed: Claimed, policy: RetryPolicy) -> bool:
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
) -> None:
    """Deliver what is due every ``every_seconds`` (at once again after a full batch)."""
    while not stop.is_set():
        sent = await run_pass("delivery", _pass, sessions, policy, concurrency)
        if not sent:
            await pause(stop, every_seconds)


def _pass(sessions: sessionmaker[Session], policy: RetryPolicy, concurrency: int) -> int:
    return deliver_due(sessions, policy, concurrency=concurrency)
