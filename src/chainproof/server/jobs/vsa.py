"""Periodic job: verified runs without a VSA (a crash after their push committed) get one."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.db.base import utcnow
from chainproof.server.jobs import pause, run_pass
from chainproof.server.services import vsa
from chainproof.server.telemetry import metrics

log = logging.getLogger(__name__)


def repair_once(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """One pass: each missing VSA issued in its own transaction (one failing run does not
    hold back the others; it is tried again next pass); how many were issued."""
    now = now or utcnow()
    with sessions() as session:
        run_ids = vsa.missing(session, before=now - vsa.GRACE)
    metrics.QUEUE_DEPTH.labels("vsa_repair").set(len(run_ids))
    issued = 0
    for run_id in run_ids:
        try:
            with sessions.begin() as session:
                issued += vsa.repair(session, run_id, now)
        except Exception:
            log.exception("the VSA of run %s could not be issued; retrying next pass", run_id)
    return issued


async def vsa_loop(
    sessions: sessionmaker[Session], every_seconds: float, stop: asyncio.Event
) -> None:
    """Call :func:`repair_once` every ``every_seconds`` until ``stop`` is set."""
    while not stop.is_set():
        count = await run_pass("vsa_repair", repair_once, sessions)
        if count:
            log.info("issued %d missing VSA(s)", count)
        await pause(stop, every_seconds)
