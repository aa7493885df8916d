"""One contract for every CAS backend: what the ``Backend`` protocol promises, held by each
implementation against its service.

- ``fs``: a temp directory; ``memory``: the in-process store;
- ``oci``: Debian's docker-registry (distribution 2.8) on loopback, a real OCI registry;
- ``s3``: ``moto_server``, a STAND-IN for AWS S3 (no real S3 server is installable here; what
  moto does not check is listed in test_s3_backend.py);
- ``azure``: Azurite, Microsoft's storage emulator, a STAND-IN for Azure Blob Storage.

The object stores are configured with small parts (1 MiB for OCI and Azure, S3's 5 MiB floor),
so that ``LARGE`` crosses several of them and takes the multipart path, while ``SMALL`` takes
the single-request one. The remote ones (OCI, S3, Azure) also share a size limit, checked
before the upload when the size is announced and while streaming when it is not, and
NetworkError naming the service when it is down. What only one backend does (layout,
authentication, retries, provider quirks, corrupt stored copies, memory use) is tested in
that backend's own module.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import ContainerClient
from tests.cas_servers import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    S3_KEY_ID,
    S3_SECRET,
    closed_endpoint,
    pseudo_random,
)

from chainproof.cas.azure_blob import AzureBlobBackend
from chainproof.cas.backend import Backend
from chainproof.cas.fs import FilesystemBackend
from chainproof.cas.memory import InMemoryBackend
from chainproof.cas.oci import OciBackend
from chainproof.cas.s3 import S3Backend, S3Credentials
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, NetworkError, NotFound, VerificationError

MiB = 1024 * 1024
SMALL = b"chainproof evidence\n" * 5000
LARGE = b"".join(pseudo_random(11 * MiB + 7, seed=1))  # 3 S3 parts, 12 OCI/Azure ones
SIZES = {"empty": b"", "small": SMALL, "large": LARGE}
S3_CREDENTIALS = S3Credentials(S3_KEY_ID, S3_SECRET)
LIMIT = 64 * MiB  # max_blob_size, unless a test sets one


def _fs(request: pytest.FixtureRequest, limit: int = LIMIT) -> Backend:
    root: Path = request.getfixturevalue("tmp_path")
    return FilesystemBackend(root / "cas")


def _memory(request: pytest.FixtureRequest, limit: int = LIMIT) -> Backend:
    return InMemoryBackend()


def _oci(request: pytest.FixtureRequest, limit: int = LIMIT) -> Backend:
    repository: str = request.getfixturevalue("oci_repository")
    return OciBackend(
        repository, chunk_size=MiB, monolithic_max=2 * MiB, backoff=0.01, max_blob_size=limit
    )


def _s3(request: pytest.FixtureRequest, limit: int = LIMIT) -> Backend:
    return S3Backend(
        request.getfixturevalue("s3_bucket"),
        prefix="org-1",
        endpoint_url=request.getfixturevalue("s3_endpoint"),
        credentials=S3_CREDENTIALS,
        part_size=5 * MiB,
        max_blob_size=limit,
    )


def _azure(request: pytest.FixtureRequest, limit: int = LIMIT) -> Backend:
    container: ContainerClient = request.getfixturevalue("azure_container")
    return AzureBlobBackend(
        container.container_name,
        connection_string=request.getfixturevalue("azurite"),
        prefix="org-1",
        block_size=MiB,
        max_blob_size=limit,
    )


# Each builds an empty backend of its kind; ``limit`` is the max_blob_size of the remote ones.
BACKENDS: dict[str, Callable[..., Backend]] = {
    "fs": _fs,
    "memory": _memory,
    "oci": _oci,
    "s3": _s3,
    "azure": _azure,
}
REMOTE = ["oci", "s3", "azure"]


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


# -- the remote stores: a size limit, and a clear error when the service is down ------------


class Remote(Backend, Protocol):
    """A backend on a service, which it can probe."""

    def validate(self) -> None: ...


def _down(name: str, limit: int = LIMIT) -> tuple[Remote, str]:
    """A backend of kind ``name`` whose service does not listen, and how messages name it."""
    endpoint = closed_endpoint()
    if name == "oci":
        repository = f"{endpoint.removeprefix('http://')}/chainproof/cas"
        return OciBackend(repository, retries=1, backoff=0.01, max_blob_size=limit), repository
    if name == "s3":
        s3 = S3Backend(
            "cas",
            endpoint_url=endpoint,
            credentials=S3_CREDENTIALS,
            max_attempts=2,
            max_blob_size=limit,
        )
        return s3, f"s3://cas/ at {endpoint}"
    account_url = f"{endpoint}/{AZURITE_ACCOUNT}"
    credential = AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)
    azure = AzureBlobBackend(
        "cas", account_url=account_url, credential=credential, max_attempts=2, max_blob_size=limit
    )
    return azure, f"{account_url}/cas/"


@pytest.mark.parametrize("name", REMOTE)
def test_a_service_that_is_down_is_a_network_error_naming_it(
    name: str, closing: Callable[[Any], Any]
) -> None:
    down, where = _down(name)
    closing(down)
    digest = Digest.of_bytes(SMALL)
    started = time.monotonic()
    calls: list[Callable[[], object]] = [
        lambda: down.exists(digest),
        lambda: down.open(digest),
        lambda: down.put(digest, _chunks(SMALL)),
        down.validate,
    ]
    for call in calls:
        with pytest.raises(NetworkError) as err:
            call()
        assert where in str(err.value)
    assert time.monotonic() - started < 30  # retries are bounded


@pytest.mark.parametrize("name", REMOTE)
def test_an_announced_size_over_the_limit_is_refused_before_any_request(
    name: str, closing: Callable[[Any], Any]
) -> None:
    down, _ = _down(name, limit=len(SMALL) - 1)
    closing(down)
    # InvalidInput naming the limit, not NetworkError: nothing was sent
    with pytest.raises(InvalidInput, match=f"{len(SMALL) - 1}[ -]byte"):
        down.put(Digest.of_bytes(SMALL), _chunks(SMALL), size=len(SMALL))


@pytest.mark.parametrize("name", ["small", "large"])
@pytest.mark.parametrize("kind", REMOTE)
def test_a_stream_over_the_limit_stops_and_stores_nothing(
    request: pytest.FixtureRequest, kind: str, name: str, closing: Callable[[Any], Any]
) -> None:
    data = SIZES[name]
    limited = closing(BACKENDS[kind](request, limit=len(data) - 1))
    digest = Digest.of_bytes(data)
    with pytest.raises(InvalidInput, match=f"{len(data) - 1}[ -]byte"):
        limited.put(digest, _chunks(data))
    _nothing_stored(limited, digest)
