"""The one upload algorithm of the object-store backends (S3, Azure Blob): :func:`put_chunked`.

A backend supplies the provider's primitives (:class:`ChunkedStore`: a one-request write, and
begin / upload a part / commit / abort for a multipart upload); this module decides what to
send and when:

- with ``check_exists_first``, a blob the store already holds is not sent again, but its bytes
  are still read and checked against the digest;
- the caller's chunks are hashed as they stream (:class:`UploadGuard`, which also enforces
  ``max_blob_size``) and re-cut into parts of ``part_size``. A blob that fits in one part is
  written with one request, after its digest was checked; a larger one is uploaded part by
  part, at most ``concurrency`` parts in flight, while the rest is still being read;
- the multipart upload is committed only after the whole blob's digest matched. On a mismatch,
  an error or an interruption it is aborted, so nothing becomes visible;
- both writes are conditional ("only if absent"): a store that refuses one because the key is
  taken raises :class:`AlreadyStored`, which counts as success once the stored blob's size
  matches (a concurrent upload of the same blob won the race).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from functools import partial
from typing import Protocol, TypeVar

from chainproof.cas._stream import InFlight, UploadGuard, rechunk, then
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, ServiceError, VerificationError

__all__ = [
    "AlreadyStored",
    "ChunkedStore",
    "check_part_count",
    "check_stored",
    "normal_prefix",
    "put_chunked",
]

U = TypeVar("U")  # the provider's handle of one multipart upload
P = TypeVar("P")  # the provider's receipt for one uploaded part


class AlreadyStored(Exception):
    """A conditional write was refused because the key already holds an object."""


class ChunkedStore(Protocol[U, P]):
    """The provider primitives :func:`put_chunked` drives; each translates its own errors."""

    @property
    def where(self) -> str:
        """The store, for messages (never credentials)."""
        ...

    def exists(self, digest: Digest) -> int | None:
        """The stored blob's size, or None."""
        ...

    def write_whole(self, digest: Digest, data: bytes) -> None:
        """Store ``data`` in one request unless the key exists (then raise AlreadyStored)."""
        ...

    def begin_upload(self, digest: Digest) -> U:
        """Start a multipart upload to the blob's key."""
        ...

    def upload_part(self, upload: U, number: int, data: bytes) -> P:
        """Upload part ``number`` (from 1); called from worker threads, in any order."""
        ...

    def commit_upload(self, upload: U, parts: list[P]) -> None:
        """Make the parts the blob unless the key exists (then raise AlreadyStored)."""
        ...

    def abort_upload(self, upload: U) -> None:
        """Discard an upload that will not be committed; never raises."""
        ...


def put_chunked(
    store: ChunkedStore[U, P],
    digest: Digest,
    chunks: Iterable[bytes],
    *,
    size: int | None,
    part_size: int,
    max_blob_size: int,
    concurrency: int,
    check_exists_first: bool,
) -> int:
    """Upload ``chunks`` as blob ``digest`` through ``store`` and return its size.

    ``size``, when known, is checked against ``max_blob_size`` before anything is sent
    (InvalidInput) and against the stream. VerificationError, with nothing visible, when the
    bytes do not hash to ``digest``.
    """
    guard = UploadGuard(digest, max_size=max_blob_size, announced=size, where=store.where)
    if check_exists_first:
        stored = store.exists(digest)
        if stored is not None:
            for _ in guard.watch(chunks):
                pass
            guard.verify()
            check_stored(store.where, digest, stored, guard.size)
            return guard.size
    parts = rechunk(guard.watch(chunks), part_size)
    head = list(itertools.islice(parts, 2))  # one part: a single write; more: multipart
    try:
        if len(head) < 2:
            guard.verify()
            store.write_whole(digest, head[0] if head else b"")
        else:
            _put_parts(store, digest, guard, then(head, parts), concurrency)
    except AlreadyStored:
        check_stored(store.where, digest, store.exists(digest), guard.size)
    return guard.size


def _put_parts(
    store: ChunkedStore[U, P],
    digest: Digest,
    guard: UploadGuard,
    parts: Iterable[bytes],
    concurrency: int,
) -> None:
    upload = store.begin_upload(digest)
    window: InFlight[P] = InFlight(concurrency)
    committed = False
    try:
        for number, data in enumerate(parts, start=1):
            window.submit(partial(store.upload_part, upload, number, data))
        receipts = window.drain()
        window.close()
        guard.verify()
        store.commit_upload(upload, receipts)
        committed = True
    finally:
        window.close()
        if not committed:
            store.abort_upload(upload)


def check_stored(where: str, digest: Digest, stored: int | None, size: int) -> None:
    """Accept a blob another upload stored: ServiceError when it is gone, VerificationError
    when its size is not the size of the bytes just checked."""
    if stored is None:
        raise ServiceError(
            f"{where} refused to overwrite {digest} but holds no blob for it",
            hint="retry the upload; the blob may have been deleted meanwhile",
        )
    if stored != size:
        raise VerificationError(
            f"{where} already holds {digest} with {stored} bytes, not {size}: "
            "the stored blob is corrupt",
            hint="delete the blob from the backend and upload it again",
        )


def normal_prefix(prefix: str) -> str:
    """``prefix`` without a leading ``/`` and, unless empty, with a trailing one."""
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def check_part_count(max_blob_size: int, part_size: int, max_parts: int, unit: str) -> None:
    """InvalidInput when a blob of ``max_blob_size`` needs more than ``max_parts`` parts."""
    if max_blob_size > part_size * max_parts:
        raise InvalidInput(
            f"max_blob_size {max_blob_size} needs more than {max_parts} {unit}s of "
            f"{part_size} bytes",
            hint=f"raise {unit}_size (an upload has at most {max_parts:,} {unit}s)",
        )
