"""Periodic job: revalidate every CAS backend (probe blob) and record its status.

A backend whose probe fails becomes ``invalid``; while an organisation's default is invalid
its uploads go to the fallback (services/cas_backends.py). Probes run outside any database
transaction; a result is dropped when an admin changed the backend meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chainproof.server.db import CasBackend
from chainproof.server.jobs import pause, run_pass
from chainproof.server.services import cas_backends
from chainproof.server.services.cas_backends import BackendFactory
from chainproof.server.telemetry import metrics

log = logging.getLogger(__name__)


def revalidate_once(
    sessions: sessionmaker[Session], factory: BackendFactory, now: datetime | None = None
) -> dict[str, str]:
    """Probe every backend once; ``{backend id: status}`` of those whose result was stored."""
    with sessions() as session:
        ids = list(session.scalars(select(CasBackend.id).where(CasBackend.provider != "inline")))
    results: dict[str, str] = {}
    for done, backend_id in enumerate(ids):
        metrics.QUEUE_DEPTH.labels("cas_validation").set(len(ids) - done)
        with sessions() as session:
            row = session.get(CasBackend, backend_id)
            if row is None:
                continue
            session.expunge(row)
        try:
            status, message = factory.probe(row)
        except Exception as err:  # a sealed secret that no longer opens, say
            status, message = "invalid", getattr(err, "message", type(err).__name__)
        metrics.CAS_VALIDATIONS.labels(status).inc()
        with sessions.begin() as session:
            current = session.get(CasBackend, backend_id, with_for_update=True)
            if current is None or current.updated_at != row.updated_at:
                continue  # deleted or changed while probing: the result is stale
            if cas_backends.record_status(session, current, status, message, now):
                log.info("CAS backend %s of org %s is now %s", row.name, row.org_id, status)
            results[backend_id] = status
    return results


async def cas_validation_loop(
    sessions: sessionmaker[Session],
    factory: BackendFactory,
    every_seconds: float,
    stop: asyncio.Event,
) -> None:
    """Call :func:`revalidate_once` every ``every_seconds`` until ``stop`` is set
    (a pass in progress finishes first)."""
    while not stop.is_set():
        await run_pass("cas_validation", revalidate_once, sessions, factory)
        await pause(stop, every_seconds)
