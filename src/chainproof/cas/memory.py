"""An in-memory CAS backend for tests (never for a real deployment)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from chainproof.cas.backend import DigestWriter
from chainproof.core.digest import Digest
from chainproof.errors import NotFound

__all__ = ["InMemoryBackend"]

_CHUNK = 64 * 1024


class InMemoryBackend:
    """Blobs in a dict; thread-safe."""

    def __init__(self) -> None:
        self._blobs: dict[Digest, bytes] = {}
        self._lock = threading.Lock()

    def exists(self, digest: Digest) -> int | None:
        """The blob's size, or None."""
        with self._lock:
            blob = self._blobs.get(digest)
        return None if blob is None else len(blob)

    def open(self, digest: Digest) -> Iterator[bytes]:
        """The blob in chunks; NotFound when absent."""
        with self._lock:
            blob = self._blobs.get(digest)
        if blob is None:
            raise NotFound(f"blob {digest} not found")
        return iter([blob[i : i + _CHUNK] for i in range(0, len(blob), _CHUNK)] or [b""])

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Store after verifying the digest (and ``size``); VerificationError leaves nothing."""
        writer = DigestWriter(digest, size)
        parts: list[bytes] = []
        for chunk in chunks:
            writer.update(chunk)
            parts.append(chunk)
        writer.verify()
        with self._lock:
            self._blobs[digest] = b"".join(parts)
        return writer.size

    def delete(self, digest: Digest) -> None:
        """Forget the blob."""
        with self._lock:
            self._blobs.pop(digest, None)

    def close(self) -> None:
        """Nothing to release."""
