"""Stopping the periodic jobs waits for a pass in progress, so that no worker thread still
holds a database connection when the server disposes its engine."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import pytest

from chainproof.server.jobs import expiry, pause


class _BlockingSessions:
    """A sessionmaker stand-in whose transaction starts only once ``release`` is set."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.passes = 0

    def begin(self) -> contextlib.nullcontext[None]:
        self.started.set()
        self.release.wait(10)
        self.passes += 1
        return contextlib.nullcontext(None)


def test_stop_waits_for_the_pass_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expiry.runs, "expire_runs", lambda session, now=None: 0)
    sessions = _BlockingSessions()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(expiry.expiry_loop(sessions, 3600, stop))  # type: ignore[arg-type]
        assert await asyncio.to_thread(sessions.started.wait, 10)
        stop.set()
        await asyncio.sleep(0.2)
        assert not task.done(), "the loop returned while its pass was still running"
        sessions.release.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert sessions.passes == 1


def test_pause_ends_early_when_stopped() -> None:
    async def scenario() -> float:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        started = loop.time()
        loop.call_later(0.05, stop.set)
        await pause(stop, 30)
        return loop.time() - started

    elapsed: Any = asyncio.run(scenario())
    assert elapsed < 5
