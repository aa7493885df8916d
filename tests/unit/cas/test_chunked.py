"""put_chunked, the upload algorithm of the S3 and Azure backends, over an in-process store.

The store records every primitive it is asked for, so these tests pin the order the algorithm
promises: a multipart upload is committed only after the digest matched, and aborted on every
other way out. The same algorithm against moto and Azurite is tested in tests/integration/cas.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from chainproof.cas._chunked import AlreadyStored, put_chunked
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, ServiceError, VerificationError

PART = 1000
DATA = bytes(range(256)) * 14  # 3584 bytes: 4 parts of PART


class Store:
    """Blobs in a dict; ``log`` lists the primitives called, in order."""

    where = "the test store"

    def __init__(self, fail_part: int | None = None, delay: float = 0.0) -> None:
        self.blobs: dict[Digest, bytes] = {}
        self.log: list[str] = []
        self.fail_part = fail_part
        self.delay = delay
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def exists(self, digest: Digest) -> int | None:
        blob = self.blobs.get(digest)
        return None if blob is None else len(blob)

    def write_whole(self, digest: Digest, data: bytes) -> None:
        self.log.append("write_whole")
        if digest in self.blobs:
            raise AlreadyStored
        self.blobs[digest] = data

    def begin_upload(self, digest: Digest) -> Digest:
        self.log.append("begin")
        return digest

    def upload_part(self, upload: Digest, number: int, data: bytes) -> tuple[int, bytes]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.delay)
        with self._lock:
            self.in_flight -= 1
            self.log.append(f"part {number}")
        if number == self.fail_part:
            raise OSError("part refused")
        return number, data

    def commit_upload(self, upload: Digest, parts: list[tuple[int, bytes]]) -> None:
        self.log.append("commit")
        if upload in self.blobs:
            raise AlreadyStored
        self.blobs[upload] = b"".join(data for _, data in sorted(parts))

    def abort_upload(self, upload: Digest) -> None:
        self.log.append("abort")


def _put(
    store: Store,
    digest: Digest,
    data: bytes | Iterator[bytes],
    *,
    size: int | None = None,
    check_exists_first: bool = True,
    max_blob_size: int = 100_000,
) -> int:
    if isinstance(data, bytes):
        data = iter([data[i : i + 300] for i in range(0, len(data), 300)])
    return put_chunked(
        store,
        digest,
        data,
        size=size,
        part_size=PART,
        max_blob_size=max_blob_size,
        concurrency=2,
        check_exists_first=check_exists_first,
    )


def test_a_blob_of_one_part_is_one_write() -> None:
    store = Store()
    digest = Digest.of_bytes(DATA[:PART])
    assert _put(store, digest, DATA[:PART]) == PART
    assert store.log == ["write_whole"]
    assert store.blobs[digest] == DATA[:PART]


def test_a_larger_blob_is_committed_after_its_parts() -> None:
    store = Store()
    digest = Digest.of_bytes(DATA)
    assert _put(store, digest, DATA, size=len(DATA)) == len(DATA)
    assert store.log[0] == "begin" and store.log[-1] == "commit"
    assert sorted(store.log[1:-1]) == ["part 1", "part 2", "part 3", "part 4"]
    assert store.blobs[digest] == DATA


def test_parts_in_flight_stay_within_the_concurrency() -> None:
    store = Store(delay=0.05)
    _put(store, Digest.of_bytes(DATA * 3), DATA * 3)
    assert store.most_in_flight == 2


@pytest.mark.parametrize("data", [DATA[:10], DATA], ids=["one-part", "multipart"])
def test_digest_mismatch_commits_nothing(data: bytes) -> None:
    store = Store()
    with pytest.raises(VerificationError):
        _put(store, Digest.of_bytes(b"other bytes"), data)
    assert store.blobs == {}
    assert "commit" not in store.log and "write_whole" not in store.log
    if len(data) > PART:
        assert store.log[-1] == "abort"


def test_a_failed_part_aborts_the_upload() -> None:
    store = Store(fail_part=2)
    with pytest.raises(OSError, match="part refused"):
        _put(store, Digest.of_bytes(DATA), DATA)
    assert store.log[-1] == "abort" and "commit" not in store.log
    assert store.blobs == {}


def test_a_failing_stream_aborts_the_upload() -> None:
    def broken() -> Iterator[bytes]:
        yield DATA[: 2 * PART + 1]
        raise OSError("client went away")

    store = Store()
    with pytest.raises(OSError, match="went away"):
        _put(store, Digest.of_bytes(DATA), broken())
    assert store.log[-1] == "abort" and "commit" not in store.log


def test_a_stream_over_the_limit_stops_and_aborts() -> None:
    store = Store()
    with pytest.raises(InvalidInput, match="accepts at most 3000 bytes"):
        _put(store, Digest.of_bytes(DATA), DATA, max_blob_size=3000)
    assert store.log[-1] == "abort" and store.blobs == {}


def test_a_stored_blob_is_not_sent_again_but_its_bytes_are_checked() -> None:
    store = Store()
    digest = Digest.of_bytes(DATA)
    store.blobs[digest] = DATA
    assert _put(store, digest, DATA) == len(DATA)
    assert store.log == []
    with pytest.raises(VerificationError):
        _put(store, digest, b"x" * len(DATA))


@pytest.mark.parametrize("data", [DATA[:10], DATA], ids=["one-part", "multipart"])
def test_a_refused_write_counts_as_stored_when_the_size_matches(data: bytes) -> None:
    store = Store()
    digest = Digest.of_bytes(data)
    store.blobs[digest] = data  # another upload won the race after our check
    assert _put(store, digest, data, check_exists_first=False) == len(data)
    if len(data) > PART:
        assert store.log[-2:] == ["commit", "abort"]


def test_a_refused_write_over_a_blob_of_another_size_is_corruption() -> None:
    store = Store()
    digest = Digest.of_bytes(DATA)
    store.blobs[digest] = b"truncated"
    with pytest.raises(VerificationError, match="corrupt"):
        _put(store, digest, DATA, check_exists_first=False)


def test_a_refused_write_without_a_blob_is_a_service_error() -> None:
    class Vanishing(Store):
        def write_whole(self, digest: Digest, data: bytes) -> None:
            raise AlreadyStored  # and exists() finds nothing: deleted meanwhile

    with pytest.raises(ServiceError, match="holds no blob"):
        _put(Vanishing(), Digest.of_bytes(b"x"), b"x", check_exists_first=False)
