"""Periodic job: runs left ``initialized`` past their deadline become ``expired``, API
tokens unused for longer than their organisation allows are revoked, and expired exchanged CI
tokens and ID-token records are deleted (docs/ci-identity.md, "Replays")."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.db.base import utcnow
from chainproof.server.jobs import pause, run_pass
from chainproof.server.services import ci_replay, runs, tokens

log = logging.getLogger(__name__)


def expire_once(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """One pass in its own transaction; the number of runs expired."""
    with sessions.begin() as session:
        return runs.expire_runs(session, now)


def revoke_unused_once(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """One pass in its own transaction; the number of tokens revoked."""
    with sessions.begin() as session:
        return tokens.revoke_unused(session, now)


def ci_cleanup_once(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """One pass in its own transaction; the number of exchanged CI tokens deleted."""
    with sessions.begin() as session:
        return ci_replay.cleanup(session, now or utcnow())


async def expiry_loop(
    sessions: sessionmaker[Session], every_seconds: float, stop: asyncio.Event
) -> None:
    """Call :func:`expire_once`, :func:`revoke_unused_once` and :func:`ci_cleanup_once` every
    ``every_seconds`` until ``stop`` is set (a pass in progress finishes first)."""
    while not stop.is_set():
        count = await run_pass("run_expiry", expire_once, sessions)
        if count:
            log.info("expired %d run(s)", count)
        if stop.is_set():
            break
        count = await run_pass("token_expiry", revoke_unused_once, sessions)
        if count:
            log.info("revoked %d unused token(s)", count)
        if stop.is_set():
            break
        count = await run_pass("ci_token_cleanup", ci_cleanup_once, sessions)
        if count:
            log.info("deleted %d expired CI token(s)", count)
        await pause(stop, every_seconds)
