"""A filesystem CAS backend: ``<root>/sha256/<ab>/<hex>``, written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from chainproof.cas.backend import check_algorithm, check_bytes
from chainproof.core.digest import Digest
from chainproof.errors import NotFound, ServiceError

__all__ = ["FilesystemBackend"]

_CHUNK = 1024 * 1024


class FilesystemBackend:
    """Blobs as files under ``root``; a blob becomes visible only once its digest verified."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"FilesystemBackend(root={str(self.root)!r})"

    def path(self, digest: Digest) -> Path:
        """Where the blob lives (whether or not it exists)."""
        check_algorithm(digest)
        return self.root / digest.algorithm / digest.hex[:2] / digest.hex

    def exists(self, digest: Digest) -> int | None:
        """The blob's size, or None."""
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, digest: Digest) -> Iterator[bytes]:
        """The blob in 1 MiB chunks; NotFound when absent."""
        try:
            fh = open(self.path(digest), "rb")  # closed by _read_chunks
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None
        return _read_chunks(fh)

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Write to a temporary file beside the target, fsync, verify, then rename."""
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        return self._write(chunks, lambda: digest, size, target.parent)

    def put_streamed(
        self, chunks: Iterable[bytes], digest: Callable[[], Digest], *, size: int
    ) -> int:
        """As :meth:`put`, the digest asked once the bytes are written (StreamingBackend)."""
        spool = self.root / "uploads"
        spool.mkdir(exist_ok=True)  # same file system: the rename stays atomic
        return self._write(chunks, digest, size, spool)

    def _write(
        self,
        chunks: Iterable[bytes],
        digest: Callable[[], Digest],
        size: int | None,
        where: Path,
    ) -> int:
        hasher = hashlib.sha256()
        written = 0
        fd, tmp_name = tempfile.mkstemp(prefix=".upload.", dir=where)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    hasher.update(chunk)
                    written += len(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            expected = digest()
            check_algorithm(expected)
            check_bytes(expected, size, written, hasher.hexdigest())
            target = self.path(expected)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return written

    def delete(self, digest: Digest) -> None:
        """Remove the blob file."""
        with contextlib.suppress(FileNotFoundError):
            self.path(digest).unlink()

    def close(self) -> None:
        """Nothing to release."""

    def validate(self) -> None:
        """Write, read back and delete a probe blob; raise the first error met."""
        from chainproof.cas._stream import probe

        try:
            probe(self, f"filesystem backend {self.root}")
        except OSError as err:
            raise ServiceError(
                f"filesystem backend {self.root} is not usable: {err.strerror or err}",
                hint="check that the directory exists and the server may write to it",
            ) from None


def _read_chunks(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(_CHUNK):
            yield chunk
