"""One contract for every CAS backend: what the ``Backend`` protocol promises, held by each
implementation against its service.

- ``fs``: a temp directory; ``memory``: the in-process store;
- ``oci``: Debian's docker-registry (distribution 2.8) on loopback, a real OCI registry;
- ``s3``: ``moto_server``, a STAND-IN for AWS S3 (no real S3 server is installable here; what
  moto does not check is listed in test_s3_backend.py);
- ``azure``: Azurite, Microsoft's storage emulator, a STAND-IN for Azure Blob Storage.

The object stores are configured with small parts (1 MiB for OCI and Azure, S3's 5 MiB floor),
so that ``LARGE`` crosses several of them and takes the multipart path, while ``SMALL`` takes
the single-request one. What only one backend does (layout, authentication, retries, provider
quirks, corrupt stored copies, memory use) is tested in that backend's own module.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure.storage.blob import ContainerClient
from tests.cas_servers import S3_KEY_ID, S3_SECRET, pseudo_random

from chainproof.cas.azure_blob import AzureBlobBackend
from chainproof.cas.backend import Backend
from chainproof.cas.fs import FilesystemBackend
from chainproof.cas.memory import InMemoryBackend
from chainproof.cas.oci import OciBackend
from chainproof.cas.s3 import S3Backend, S3Credentials
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, NotFound, VerificationError

MiB = 1024 * 1024
SMALL = b"chainproof evidence\n" * 5000
LARGE = b"".join(pseudo_random(11 * MiB + 7, seed=1))  # 3 S3 parts, 12 OCI/Azure ones
SIZES = {"empty": b"", "small": SMALL, "large": LARGE}


def _fs(request: pytest.FixtureRequest) -> Backend:
    root: Path = request.getfixturevalue("tmp_path")
    return FilesystemBackend(root / "cas")


def _memory(request: pytest.FixtureRequest) -> Backend:
    return InMemoryBackend()


def _oci(request: pytest.FixtureRequest) -> Backend:
    repository: str = request.getfixturevalue("oci_repository")
    return OciBackend(repository, chunk_size=MiB, monolithic_max=2 * MiB, backoff=0.01)


def _s3(request: pytest.FixtureRequest) -> Backend:
    return S3Backend(
        request.getfixturevalue("s3_bucket"),
        prefix="org-1",
        endpoint_url=request.getfixturevalue("s3_endpoint"),
        credentials=S3Credentials(S3_KEY_ID, S3_SECRET),
        part_size=5 * MiB,
    )


def _azure(request: pytest.FixtureRequest) -> Backend:
    container: ContainerClient = request.getfixturevalue("azure_container")
    return AzureBlobBackend(
        container.container_name,
        connection_string=request.getfixturevalue("azurite"),
        prefix="org-1",
        block_size=MiB,
    )


BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Backend]] = {
    "fs": _fs,
    "memory": _memory,
    "oci": _oci,
    "s3": _s3,
    "azure": _azure,
}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each backend in turn, empty, on its own directory, repository, bucket or container."""
    impl = BACKENDS[request.param](request)
    yield impl
    impl.close()


def _chunks(data: bytes, size: int = 300_000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _read(backend: Backend, digest: Digest) -> bytes:
    return b"".join(backend.open(digest))


def _nothing_stored(backend: Backend, digest: Digest) -> None:
    assert backend.exists(digest) is None
    with pytest.raises(NotFound):
        backend.open(digest)


def test_satisfies_protocol(backend: Backend) -> None:
    assert isinstance(backend, Backend)


@pytest.mark.parametrize("announced", [True, False], ids=["size", "no-size"])
@pytest.mark.parametrize("name", list(SIZES))
def test_put_exists_open_delete(backend: Backend, name: str, announced: bool) -> None:
    data = SIZES[name]
    digest = Digest.of_bytes(data)
    assert backend.exists(digest) is None
    assert backend.put(digest, _chunks(data), size=len(data) if announced else None) == len(data)
    assert backend.exists(digest) == len(data)
    assert _read(backend, digest) == data
    backend.delete(digest)
    _nothing_stored(backend, digest)
    backend.delete(digest)  # absent: no error


def test_missing_blob_is_not_found(backend: Backend) -> None:
    _nothing_stored(backend, Digest.of_bytes(b"never stored"))


@pytest.mark.parametrize("name", ["small", "large"])
def test_put_of_a_stored_blob_is_idempotent(backend: Backend, name: str) -> None:
    data = SIZES[name]
    digest = Digest.of_bytes(data)
    assert backend.put(digest, _chunks(data)) == len(data)
    assert backend.put(digest, _chunks(data), size=len(data)) == len(data)
    assert backend.exists(digest) == len(data)
    assert _read(backend, digest) == data
    # The bytes of a second upload are still checked, and never replace the stored ones.
    with pytest.raises(VerificationError):
        backend.put(digest, [b"x" * len(data)])
    assert _read(backend, digest) == data


@pytest.mark.parametrize("name", ["small", "large"])
def test_digest_mismatch_is_refused_and_nothing_stored(backend: Backend, name: str) -> None:
    data = SIZES[name]
    claimed = Digest.of_bytes(data + b"!")
    with pytest.raises(VerificationError, match=str(claimed)):
        backend.put(claimed, _chunks(data))
    _nothing_stored(backend, claimed)


@pytest.mark.parametrize("name", ["small", "large"])
@pytest.mark.parametrize("error", [1, -1], ids=["longer", "shorter"])
def test_announced_size_mismatch_is_refused(backend: Backend, name: str, error: int) -> None:
    data = SIZES[name]
    digest = Digest.of_bytes(data)
    with pytest.raises(VerificationError):
        backend.put(digest, _chunks(data), size=len(data) + error)
    _nothing_stored(backend, digest)


@pytest.mark.parametrize("announced", [True, False], ids=["size", "no-size"])
@pytest.mark.parametrize("name", ["small", "large"])
def test_failing_stream_stores_nothing_and_a_retry_succeeds(
    backend: Backend, name: str, announced: bool
) -> None:
    data = SIZES[name]
    digest = Digest.of_bytes(data)
    size = len(data) if announced else None

    def broken() -> Iterator[bytes]:
        yield from _chunks(data[: len(data) * 3 // 4])  # past the first parts of LARGE
        raise OSError("connection reset by the CI runner")

    with pytest.raises(OSError, match="reset by the CI runner"):  # the caller's own error
        backend.put(digest, broken(), size=size)
    _nothing_stored(backend, digest)
    assert backend.put(digest, _chunks(data), size=size) == len(data)
    assert _read(backend, digest) == data


def test_only_sha256(backend: Backend) -> None:
    sha1 = Digest("sha1", hashlib.sha1(SMALL).hexdigest())  # noqa: S324 - refused, not used
    with pytest.raises(InvalidInput):
        backend.put(sha1, [SMALL])


@pytest.mark.parametrize("name", ["small", "large"])
def test_concurrent_puts_of_the_same_blob(backend: Backend, name: str) -> None:
    data = SIZES[name]
    digest = Digest.of_bytes(data)
    start = threading.Barrier(4)
    results: list[int | BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            results.append(backend.put(digest, _chunks(data, 100_000)))
        except BaseException as err:  # reported below
            results.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [len(data)] * 4
    assert backend.exists(digest) == len(data)
    assert _read(backend, digest) == data
