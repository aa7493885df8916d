"""Periodic job: re-evaluate every workflow's drift findings (what opens ``stopped``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.db import Workflow
from chainproof.server.jobs import pause, run_pass
from chainproof.server.services import findings
from chainproof.server.telemetry import metrics

log = logging.getLogger(__name__)

BATCH = 200
"""Workflows reconciled per transaction."""


def reconcile_once(
    sessions: sessionmaker[Session], now: datetime | None = None
) -> list[findings.Change]:
    """One pass over every workflow, in batches of :data:`BATCH`; the changes made."""
    with sessions() as session:
        ids = list(session.scalars(select(Workflow.id).order_by(Workflow.id)))
    changes: list[findings.Change] = []
    for start in range(0, len(ids), BATCH):
        metrics.QUEUE_DEPTH.labels("drift_findings").set(len(ids) - start)
        with sessions.begin() as session:
            changes += findings.on_runs_changed(session, ids[start : start + BATCH], now)
    return changes


async def findings_loop(
    sessions: sessionmaker[Session], every_seconds: float, stop: asyncio.Event
) -> None:
    """Call :func:`reconcile_once` every ``every_seconds`` until ``stop`` is set
    (a pass in progress finishes first)."""
    while not stop.is_set():
        changes = await run_pass("drift_findings", reconcile_once, sessions)
        if changes:
            log.info("drift findings: %d opened or closed", len(changes))
        await pause(stop, every_seconds)
