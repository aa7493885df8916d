"""One contract test for every CAS backend (docs/contributing.md §5)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.cas.backend import Backend
from chainproof.cas.fs import FilesystemBackend
from chainproof.cas.memory import InMemoryBackend
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, NotFound, VerificationError

DATA = b"chainproof evidence\n" * 5000


def _digest(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


@pytest.fixture(params=["fs", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    impl: Backend = (
        FilesystemBackend(tmp_path / "cas") if request.param == "fs" else InMemoryBackend()
    )
    yield impl
    impl.close()


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_satisfies_protocol(backend: Backend) -> None:
    assert isinstance(backend, Backend)


def test_put_exists_open_delete(backend: Backend) -> None:
    digest = _digest(DATA)
    assert backend.exists(digest) is None
    assert backend.put(digest, _chunks(DATA)) == len(DATA)
    assert backend.exists(digest) == len(DATA)
    assert b"".join(backend.open(digest)) == DATA
    backend.delete(digest)
    assert backend.exists(digest) is None
    backend.delete(digest)  # absent: no error


def test_empty_blob(backend: Backend) -> None:
    digest = _digest(b"")
    assert backend.put(digest, iter([])) == 0
    assert backend.exists(digest) == 0
    assert b"".join(backend.open(digest)) == b""


def test_open_missing_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.open(_digest(b"missing"))


def test_digest_mismatch_leaves_nothing(backend: Backend, tmp_path: Path) -> None:
    claimed = _digest(b"the claimed bytes")
    with pytest.raises(VerificationError):
        backend.put(claimed, _chunks(b"other bytes"))
    assert backend.exists(claimed) is None
    if isinstance(backend, FilesystemBackend):
        leftovers = [p for p in (tmp_path / "cas").rglob("*") if p.is_file()]
        assert leftovers == []


def test_failing_stream_leaves_nothing(backend: Backend) -> None:
    digest = _digest(DATA)

    def broken() -> Iterator[bytes]:
        yield DATA[:100]
        raise OSError("connection reset")

    with pytest.raises(OSError):
        backend.put(digest, broken())
    assert backend.exists(digest) is None


def test_only_sha256(backend: Backend) -> None:
    sha1 = Digest("sha1", hashlib.sha1(DATA).hexdigest())  # noqa: S324 - refused, not used
    with pytest.raises(InvalidInput):
        backend.put(sha1, [DATA])


def test_concurrent_put_of_same_blob(backend: Backend) -> None:
    digest = _digest(DATA)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            backend.put(digest, _chunks(DATA, 1000))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert backend.exists(digest) == len(DATA)
    assert b"".join(backend.open(digest)) == DATA


def test_fs_layout(tmp_path: Path) -> None:
    fs = FilesystemBackend(tmp_path)
    digest = _digest(DATA)
    fs.put(digest, [DATA])
    assert (tmp_path / "sha256" / digest.hex[:2] / digest.hex).read_bytes() == DATA
