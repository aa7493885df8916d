"""Periodic job: index newly pushed attestations for discover and component search
(services/discover_index.py). Off the push's path: a push never waits for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from chainproof.cas.tokens import EMBEDDED, INLINE
from chainproof.core.digest import Digest
from chainproof.server.db import Material
from chainproof.server.jobs import pause, run_pass
from chainproof.server.services import discover_index
from chainproof.server.services.cas import DbBackendSource

log = logging.getLogger(__name__)


def blob_opener(source: DbBackendSource) -> discover_index.BlobOpener:
    """Read a material's bytes where push left them: the run's CAS backend, the embedded
    store, or the statement itself (inline)."""

    def open_blob(org_id: str, material: Material) -> Iterable[bytes]:
        backend = INLINE if material.inline else (material.cas_backend_id or EMBEDDED)
        chunks: Iterable[bytes] = source.target(org_id, backend).backend.open(
            Digest.parse(material.digest)
        )
        return chunks

    return open_blob


def index_once(sessions: sessionmaker[Session], source: DbBackendSource) -> int:
    """One pass: index every pending run; how many."""
    return discover_index.index_once(sessions, blob_opener(source))


async def discover_loop(
    sessions: sessionmaker[Session],
    source: DbBackendSource,
    every_seconds: float,
    stop: asyncio.Event,
) -> None:
    """Call :func:`index_once` every ``every_seconds`` until ``stop`` is set."""
    while not stop.is_set():
        done = await run_pass("discover_index", index_once, sessions, source)
        if done:
            log.info("discover index: %d run(s) indexed", done)
        full = discover_index.BATCH * discover_index.PASS_BATCHES
        if done != full:  # a backlog goes on at once; otherwise wait for new pushes
            await pause(stop, every_seconds)
