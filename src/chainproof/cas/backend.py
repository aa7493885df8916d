"""The CAS storage interface: a few methods keyed by :class:`Digest` (docs/contributing.md §5).

Implementations: :mod:`chainproof.cas.fs` (filesystem) and :mod:`chainproof.cas.memory`
(tests). Every ``put`` hashes the bytes while it writes and makes nothing visible when they do
not match the digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, VerificationError

__all__ = ["Backend", "DigestWriter", "check_algorithm"]


@runtime_checkable
class Backend(Protocol):
    """Content-addressed blob storage."""

    def exists(self, digest: Digest) -> int | None:
        """The blob's size in bytes, or None when it is not stored."""
        ...

    def open(self, digest: Digest) -> Iterator[bytes]:
        """The blob's bytes in chunks; raise NotFound when it is not stored."""
        ...

    def put(self, digest: Digest, chunks: Iterable[bytes]) -> int:
        """Store ``chunks`` under ``digest`` and return the size written.

        Raise VerificationError (nothing stored) when the bytes do not hash to ``digest``.
        """
        ...

    def delete(self, digest: Digest) -> None:
        """Remove the blob; no error when it is absent."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


def check_algorithm(digest: Digest) -> None:
    """Raise InvalidInput unless the CAS can verify ``digest`` (sha256 only)."""
    if digest.algorithm != "sha256":
        raise InvalidInput(
            f"the CAS stores sha256 blobs only, not {digest.algorithm}",
            hint="address blobs as sha256:<hex>",
        )


class DigestWriter:
    """Hashes chunks as they pass; ``verify()`` raises VerificationError on a mismatch."""

    def __init__(self, expected: Digest) -> None:
        check_algorithm(expected)
        self.expected = expected
        self.size = 0
        self._hash = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        """Account for one chunk."""
        self._hash.update(chunk)
        self.size += len(chunk)

    def verify(self) -> None:
        """Raise VerificationError when the bytes seen do not hash to the expected digest."""
        got = self._hash.hexdigest()
        if got != self.expected.hex:
            raise VerificationError(
                f"uploaded bytes do not match {self.expected}: got sha256:{got}",
                hint="upload the exact bytes whose digest you named",
            )
