"""The control plane's periodic jobs, run by ``server start`` in its event loop.

Each loop does one pass in a worker thread (:func:`run_pass`, which times and counts it for
``/metrics``), then waits for its interval or for ``stop``. The server stops them by setting
``stop`` and waiting for the loops to return, never by cancelling them: a cancelled task
leaves its thread running, and a pass still holding a database connection when the engine is
disposed would leak it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio.to_thread

from chainproof.server.telemetry import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_pass(job: str, fn: Callable[[Unpack[Ts]], T], *args: *Ts) -> T | None:
    """``fn(*args)`` in a worker thread as one pass of ``job``: its duration, failure or
    success time recorded (``chainproof_job_*``); None when it failed (logged; the loop
    tries again next round)."""
    started = time.perf_counter()
    try:
        result = await anyio.to_thread.run_sync(fn, *args)
    except Exception:
        metrics.JOB_FAILURES.labels(job).inc()
        log.exception("%s failed; retrying next round", job.replace("_", " "))
        return None
    finally:
        metrics.JOB_SECONDS.labels(job).observe(time.perf_counter() - started)
        metrics.QUEUE_DEPTH.labels(job).set(0)  # a failed pass leaves nothing queued either
    metrics.JOB_LAST_SUCCESS.labels(job).set_to_current_time()
    return result
