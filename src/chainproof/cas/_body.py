"""An upload's body, read off the socket on the event loop ahead of the worker thread that
stores it. Private to :mod:`chainproof.cas.app`.

The backends are synchronous: they run in a worker thread and pull the body batch by batch.
Pulled on demand, the socket was read only while the worker waited for a batch (uvicorn stops
reading once 64 KiB are buffered), so receiving from the client and sending to the backend took
turns. A task on the event loop now reads up to :data:`AHEAD` batches ahead: the client keeps
sending while the worker forwards. Memory stays bounded by ``AHEAD * BATCH``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

__all__ = ["AHEAD", "BATCH", "Body", "pumped"]

T = TypeVar("T")

#: Bytes gathered from the socket per hop to the upload's worker thread. The server receives
#: a body in pieces of 64-320 KiB; one thread hop per piece cost more CPU than the hashing.
#: Under 1 MiB with the last piece, so the OCI backend sends each batch as is (no copy).
BATCH = 640 * 1024
#: Batches read ahead of the worker (at most about 3 MiB per upload).
AHEAD = 3


async def _next_batch(stream: AsyncIterator[bytes]) -> bytes:
    """Up to about ``BATCH`` bytes of the body (b'' at its end), joined once."""
    pieces: list[bytes] = []
    held = 0
    while held < BATCH:
        try:
            piece = await stream.__anext__()
        except StopAsyncIteration:
            break
        pieces.append(piece)
        held += len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class Body:
    """The worker thread's side: the body's batches, in order; what reading it raised."""

    def __init__(self, stream: AsyncIterator[bytes]) -> None:
        self._stream = stream
        self._send, self.receiving = anyio.create_memory_object_stream[bytes](AHEAD)
        self._error: Exception | None = None

    async def pump(self) -> None:
        """Read the body into the buffer; an error (the client went away) is kept for the
        worker, which meets it after the batches that came before it."""
        async with self._send:
            try:
                while batch := await _next_batch(self._stream):
                    await self._send.send(batch)
            except Exception as err:
                self._error = err

    def chunks(self) -> Iterator[bytes]:
        """The batches (call from the worker thread); re-raises what reading the body raised."""
        while True:
            try:
                yield anyio.from_thread.run(self.receiving.receive)
            except anyio.EndOfStream:
                if self._error is not None:
                    raise self._error from None
                return


async def pumped(stream: AsyncIterator[bytes], work: Callable[[Body], T]) -> T:
    """Run ``work(body)`` in a worker thread while the body is read ahead of it.

    What ``work`` raises is raised here unwrapped; the reading stops when ``work`` returns,
    whether or not it read the whole body.
    """
    body = Body(stream)
    result: list[T] = []
    failure: list[Exception] = []

    async def run() -> None:
        try:
            result.append(await anyio.to_thread.run_sync(work, body))
        except Exception as err:
            failure.append(err)

    with body.receiving:
        await _alongside(body.pump, run)
    if failure:
        raise failure[0]
    return result[0]


Task = Callable[[], Coroutine[Any, Any, None]]


async def _alongside(pump: Task, run: Task) -> None:
    """Run ``pump`` in the background of ``run`` (neither raises); stop it when ``run`` ends."""
    async with anyio.create_task_group() as group:
        group.start_soon(pump)
        await run()
        group.cancel_scope.cancel()
