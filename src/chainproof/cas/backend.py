"""The CAS storage interface: a few methods keyed by :class:`Digest` (docs/contributing.md §5).

Implementations: :mod:`chainproof.cas.fs` (filesystem), :mod:`chainproof.cas.memory` (tests),
:mod:`chainproof.cas.oci`, :mod:`chainproof.cas.s3` and :mod:`chainproof.cas.azure_blob`. Every
``put`` hashes the bytes while it writes and makes nothing visible when they do not match the
digest (or the announced size). tests/integration/cas/test_backend_contract.py holds them all
to this contract.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, runtime_checkable

from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, VerificationError

__all__ = ["Backend", "DigestWriter", "StreamingBackend", "check_algorithm", "check_bytes"]


@runtime_checkable
class Backend(Protocol):
    """Content-addressed blob storage."""

    def exists(self, digest: Digest) -> int | None:
        """The blob's size in bytes, or None when it is not stored."""
        ...

    def open(self, digest: Digest) -> Iterator[bytes]:
        """The blob's bytes in chunks; raise NotFound when it is not stored."""
        ...

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Store ``chunks`` under ``digest`` and return the size written.

        ``size`` is the size the uploader announced, or None when unknown: a backend may use it
        to choose how to upload, or to refuse a blob over its limit before reading it. Raise
        VerificationError (nothing stored) when the bytes do not hash to ``digest`` or their
        size is not ``size``. Storing a blob that is already there succeeds.
        """
        ...

    def delete(self, digest: Digest) -> None:
        """Remove the blob; no error when it is absent."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


@runtime_checkable
class StreamingBackend(Protocol):
    """A backend that can take a blob's bytes before it is told their digest.

    What lets a client hash while it sends (``POST /uploads``, cas/app.py): the fs store and
    the OCI registry (whose upload sessions take the digest at the commit). S3 and Azure Blob
    name objects by digest from the first byte, so they want it first.
    """

    def put_streamed(
        self, chunks: Iterable[bytes], digest: Callable[[], Digest], *, size: int
    ) -> int:
        """Store exactly ``size`` bytes from ``chunks`` as blob ``digest()``, asked once the
        chunks are exhausted, and return the size.

        Nothing becomes visible unless the bytes hash to that digest: VerificationError (and
        nothing stored) otherwise, or when the chunks end early or run long. Storing a blob
        that is already there succeeds.
        """
        ...


def check_algorithm(digest: Digest) -> None:
    """Raise InvalidInput unless the CAS can verify ``digest`` (sha256 only)."""
    if digest.algorithm != "sha256":
        raise InvalidInput(
            f"the CAS stores sha256 blobs only, not {digest.algorithm}",
            hint="address blobs as sha256:<hex>",
        )


class DigestWriter:
    """Hashes chunks as they pass; ``verify()`` raises VerificationError on a mismatch.

    ``announced``, when given, is the size the bytes must have too.
    """

    def __init__(self, expected: Digest, announced: int | None = None) -> None:
        check_algorithm(expected)
        if announced is not None and announced < 0:
            raise InvalidInput(f"a blob cannot have {announced} bytes")
        self.expected = expected
        self.announced = announced
        self.size = 0
        self._hash = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        """Account for one chunk."""
        self._hash.update(chunk)
        self.size += len(chunk)

    def verify(self) -> None:
        """Raise VerificationError when the bytes seen do not hash to the expected digest (or
        do not have the announced size)."""
        check_bytes(self.expected, self.announced, self.size, self._hash.hexdigest())


def check_bytes(expected: Digest, announced: int | None, size: int, hexdigest: str) -> None:
    """VerificationError unless ``size`` bytes hashing to ``hexdigest`` are ``expected`` (and
    have the ``announced`` size, when there is one)."""
    if announced is not None and announced != size:
        raise VerificationError(
            f"upload of {expected} announced {announced} bytes but sent {size}",
            hint="announce the exact size of the blob, or none",
        )
    if hexdigest != expected.hex:
        raise VerificationError(
            f"uploaded bytes do not match {expected}: got sha256:{hexdigest}",
            hint="upload the exact bytes whose digest you named",
        )
