"""The control plane's periodic jobs, run by ``server start`` in its event loop.

Each loop does one pass in a worker thread, then waits for its interval or for ``stop``. The
server stops them by setting ``stop`` and waiting for the loops to return, never by cancelling
them: a cancelled task leaves its thread running, and a pass still holding a database
connection when the engine is disposed would leak it.
"""

from __future__ import annotations

import asyncio
import contextlib


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
