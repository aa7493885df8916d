"""Streaming helpers shared by the object-store backends (S3, Azure Blob).

- :func:`rechunk` turns a caller's chunks of any size into parts of one size, holding at most
  one part plus one incoming chunk in memory.
- :class:`UploadGuard` hashes the bytes as they pass and enforces ``max_blob_size``, before the
  upload when the size is announced and while streaming when it is not.
- :func:`verified_download` yields a stored blob while hashing it and raises
  :class:`VerificationError` at the end when the bytes do not match. It always holds back the
  last chunk until the digest is checked, so a blob that fits in one chunk is never handed out
  unverified and a consumer never receives a complete copy of a corrupt blob.
- :class:`InFlight` bounds how many part uploads run at once (constant memory).
- :func:`probe` is every backend's ``validate()``.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from chainproof.cas.backend import DigestWriter
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, ServiceError, VerificationError

__all__ = [
    "DEFAULT_MAX_BLOB_SIZE",
    "InFlight",
    "UploadGuard",
    "probe",
    "rechunk",
    "then",
    "verified_download",
]

#: The issue's default per-backend limit: 100 MB (decimal).
DEFAULT_MAX_BLOB_SIZE = 100 * 1000 * 1000

T = TypeVar("T")


def rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut ``chunks`` into parts of exactly ``size`` bytes (the last may be shorter).

    Yields nothing for an empty stream.
    """
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= size:
            with memoryview(buf) as view:
                part = bytes(view[:size])  # one copy, no intermediate slice
            del buf[:size]
            yield part
    if buf:
        yield bytes(buf)


def then(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """Yield the parts in ``head`` (popping each, so it is not kept alive), then ``rest``."""
    while head:
        yield head.pop(0)
    yield from rest


class UploadGuard:
    """Hash the bytes of an upload (and check the announced size) and keep it under ``max_size``."""

    def __init__(self, digest: Digest, *, max_size: int, announced: int | None, where: str) -> None:
        self.writer = DigestWriter(digest, announced)
        self.max_size = max_size
        self.where = where
        if announced is not None and announced > max_size:
            raise self._too_big(announced)

    @property
    def size(self) -> int:
        """Bytes seen so far."""
        return self.writer.size

    def watch(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass ``chunks`` through, hashing them; InvalidInput as soon as the limit is crossed."""
        for chunk in chunks:
            self.writer.update(chunk)
            if self.writer.size > self.max_size:
                raise self._too_big(None)
            yield chunk

    def verify(self) -> None:
        """VerificationError unless the bytes seen match the digest (and the announced size)."""
        self.writer.verify()

    def _too_big(self, size: int | None) -> InvalidInput:
        what = f"{size} bytes" if size is not None else f"more than {self.max_size} bytes"
        return InvalidInput(
            f"blob {self.writer.expected} is {what}: {self.where} accepts at most "
            f"{self.max_size} bytes",
            hint="raise the backend's max_blob_size, or store a smaller blob",
        )


def verified_download(
    digest: Digest,
    chunks: Iterator[bytes],
    *,
    where: str,
    expected_size: int | None = None,
    close: Callable[[], None] | None = None,
) -> Iterator[bytes]:
    """Yield ``chunks`` while hashing them; VerificationError at the end on a mismatch.

    The last chunk is yielded only after the digest matched. A consumer that sees the error
    must treat everything it received as failed (discard the partial file).
    """
    hasher = hashlib.sha256()
    size = 0
    try:
        held: bytes | None = None
        for chunk in chunks:
            if not chunk:
                continue
            hasher.update(chunk)
            size += len(chunk)
            if held is not None:
                yield held
            held = chunk
        got = hasher.hexdigest()
        if got != digest.hex or (expected_size is not None and size != expected_size):
            raise VerificationError(
                f"blob {digest} in {where} is corrupt: its {size} bytes hash to sha256:{got}",
                hint="discard what was read; restore the blob from another copy or re-upload it",
            )
        yield held if held is not None else b""
    finally:
        if close is not None:
            close()


class InFlight(Generic[T]):
    """Run at most ``limit`` jobs at once on a thread pool; results in submission order.

    ``submit`` blocks (waiting for the oldest job) once ``limit`` jobs are pending, so the
    memory held by queued parts stays bounded. ``close`` cancels what has not started and
    waits for the rest, so nothing runs behind an abort.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._pool = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="cas-part")
        self._pending: deque[Future[T]] = deque()
        self.results: list[T] = []

    def submit(self, fn: Callable[[], T]) -> None:
        """Queue ``fn``; first wait for the oldest job when the window is full."""
        while len(self._pending) >= self.limit:
            self.results.append(self._pending.popleft().result())
        self._pending.append(self._pool.submit(fn))

    def drain(self) -> list[T]:
        """Wait for every job; re-raise the first failure."""
        while self._pending:
            self.results.append(self._pending.popleft().result())
        return self.results

    def close(self) -> None:
        """Cancel jobs not yet started and wait for running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def probe(backend: Any, where: str) -> None:
    """Write, read back and delete a probe blob through ``backend``; raise what stopped it.

    ``where`` names the backend in messages. What ``validate()`` of every backend does.
    """
    data = f"chainproof CAS probe {uuid.uuid4()} {time.time()}\n".encode()
    digest = Digest.of_bytes(data)
    backend.put(digest, [data])
    try:
        if backend.exists(digest) != len(data):
            raise ServiceError(f"{where} does not report the probe blob it stored")
        if b"".join(backend.open(digest)) != data:  # open() verifies; this guards the guard
            raise VerificationError(f"{where} returned other bytes than it stored")
    finally:
        backend.delete(digest)
