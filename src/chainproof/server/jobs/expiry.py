"""Periodic job: runs left ``initialized`` past their deadline become ``expired``."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.jobs import pause, run_pass
from chainproof.server.services import runs

log = logging.getLogger(__name__)


def expire_once(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """One pass in its own transaction; the number of runs expired."""
    with sessions.begin() as session:
        return runs.expire_runs(session, now)


async def expiry_loop(
    sessions: sessionmaker[Session], every_seconds: float, stop: asyncio.Event
) -> None:
    """Call :func:`expire_once` every ``every_seconds`` until ``stop`` is set
    (a pass in progress finishes first)."""
    while not stop.is_set():
        count = await run_pass("run_expiry", expire_once, sessions)
        if count:
            log.info("expired %d run(s)", count)
        await pause(stop, every_seconds)
