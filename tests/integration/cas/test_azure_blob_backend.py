"""AzureBlobBackend over HTTP against Azurite, a STAND-IN for Azure Blob Storage.

Azurite (npm ``azurite``) is Microsoft's own storage emulator; no real Azure endpoint is
reachable here. The ``azurite`` session fixture (tests/cas_servers.py) starts
``azurite-blob`` on a loopback port with its data in a temp dir; azure-storage-blob talks to
it over real HTTP with the emulator's well-known development account.

What Azurite does, as measured with Azurite 3.35: it refuses Put Blob and Put Block List
with ``If-None-Match: *`` on an existing blob (409 BlobAlreadyExists, as Azure does), hides
staged-but-uncommitted blocks from Get Blob Properties and listings, and checks the
transactional MD5 of each block. ``test_azurite_honours_if_none_match`` pins the first.

The Backend contract (round trip, mismatches, idempotence, concurrency) runs on Azure too, in
test_backend_contract.py; this module tests what is Azure's own: layout, credentials, staged
blocks, the refused-commit path, limits, errors and memory use.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobBlock, ContainerClient
from tests.cas_servers import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    blob_endpoint,
    pseudo_random,
)

from chainproof.cas.azure_blob import AzureBlobBackend
from chainproof.core.digest import Digest
from chainproof.errors import (
    ServiceError,
    Unauthorized,
    VerificationError,
)

MiB = 1024 * 1024
SMALL = b"chainproof evidence\n" * 5000


def _digest(data: bytes) -> Digest:
    return Digest.of_bytes(data)


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
def backend(azurite: str, azure_container: ContainerClient) -> Iterator[AzureBlobBackend]:
    impl = AzureBlobBackend(
        azure_container.container_name,
        connection_string=azurite,
        prefix="org-1",
        max_blob_size=256 * MiB,
    )
    yield impl
    impl.close()


def _names(azure_container: ContainerClient) -> list[str]:
    return [b.name for b in azure_container.list_blobs()]


def _uncommitted(azure_container: ContainerClient, name: str) -> int:
    blocks = azure_container.get_blob_client(name).get_block_list("uncommitted")[1]
    return len(blocks)


def test_layout(backend: AzureBlobBackend, azure_container: ContainerClient) -> None:
    digest = _digest(SMALL)
    assert backend.put(digest, _chunks(SMALL), size=len(SMALL)) == len(SMALL)
    assert _names(azure_container) == [f"org-1/sha256/{digest.hex}"]


def test_account_url_and_key(
    azurite: str, azure_container: ContainerClient, closing: Callable[[Any], Any]
) -> None:
    impl = closing(
        AzureBlobBackend(
            azure_container.container_name,
            account_url=blob_endpoint(azurite),
            credential=AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
        )
    )
    digest = _digest(SMALL)
    assert impl.put(digest, [SMALL]) == len(SMALL)
    assert b"".join(impl.open(digest)) == SMALL


def test_wrong_key_is_unauthorized(
    azurite: str, azure_container: ContainerClient, closing: Callable[[Any], Any]
) -> None:
    impl = closing(
        AzureBlobBackend(
            azure_container.container_name,
            account_url=blob_endpoint(azurite),
            credential=AzureNamedKeyCredential(AZURITE_ACCOUNT, "d3Jvbmc="),
            max_attempts=1,
        )
    )
    with pytest.raises(Unauthorized, match="refused access"):
        impl.exists(_digest(SMALL))


def test_dedupe_sends_nothing_and_still_checks_bytes(
    backend: AzureBlobBackend, azure_container: ContainerClient
) -> None:
    digest = _digest(SMALL)
    backend.put(digest, _chunks(SMALL))
    before = azure_container.get_blob_client(backend.name(digest)).get_blob_properties().etag
    assert backend.put(digest, _chunks(SMALL)) == len(SMALL)
    after = azure_container.get_blob_client(backend.name(digest)).get_blob_properties().etag
    assert after == before
    with pytest.raises(VerificationError):
        backend.put(digest, _chunks(b"x" * len(SMALL)))


@pytest.mark.parametrize("size", [len(SMALL), 20 * MiB], ids=["put-blob", "blocks"])
def test_digest_mismatch_commits_nothing(
    backend: AzureBlobBackend, azure_container: ContainerClient, size: int
) -> None:
    claimed = _digest(b"the claimed bytes")
    with pytest.raises(VerificationError, match=str(claimed)):
        backend.put(claimed, pseudo_random(size, seed=3))
    assert backend.exists(claimed) is None
    assert _names(azure_container) == []
    if size > backend.block_size:  # blocks were staged but never committed
        assert _uncommitted(azure_container, backend.name(claimed)) == 3


def test_failing_stream_leaves_nothing_then_retry_succeeds(
    backend: AzureBlobBackend, azure_container: ContainerClient
) -> None:
    size = 20 * MiB
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=4))

    def broken() -> Iterator[bytes]:
        for i, chunk in enumerate(pseudo_random(size, seed=4)):
            if i == 12:  # after the first block was staged
                raise OSError("client killed mid-upload")
            yield chunk

    with pytest.raises(OSError, match="killed"):
        backend.put(digest, broken())
    assert backend.exists(digest) is None
    assert _names(azure_container) == []
    assert backend.put(digest, pseudo_random(size, seed=4)) == size
    assert backend.exists(digest) == size
    hasher = hashlib.sha256()
    for chunk in backend.open(digest):
        hasher.update(chunk)
    assert hasher.hexdigest() == digest.hex


def test_azurite_honours_if_none_match(azure_container: ContainerClient) -> None:
    """The stand-in enforces the precondition the backend relies on (else this test fails)."""
    blob = azure_container.get_blob_client("k")
    blob.upload_blob(b"first", overwrite=False)
    with pytest.raises(ResourceExistsError):
        blob.upload_blob(b"second", overwrite=False)
    blob.stage_block("b1", b"second")
    with pytest.raises(ResourceExistsError):
        blob.commit_block_list([BlobBlock("b1")], match_condition=MatchConditions.IfMissing)
    assert blob.download_blob().readall() == b"first"


@pytest.mark.parametrize("size", [len(SMALL), 20 * MiB], ids=["put-blob", "blocks"])
def test_existing_blob_counts_as_stored(
    azurite: str, azure_container: ContainerClient, size: int, closing: Callable[[Any], Any]
) -> None:
    """Without the check first, the write reaches the service, which refuses it: success."""
    racer = closing(
        AzureBlobBackend(
            azure_container.container_name, connection_string=azurite, check_exists_first=False
        )
    )
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=5))
    assert racer.put(digest, pseudo_random(size, seed=5)) == size
    etag = azure_container.get_blob_client(racer.name(digest)).get_blob_properties().etag
    assert racer.put(digest, pseudo_random(size, seed=5)) == size
    assert azure_container.get_blob_client(racer.name(digest)).get_blob_properties().etag == etag


@pytest.mark.parametrize("size", [len(SMALL), 20 * MiB], ids=["put-blob", "blocks"])
def test_existing_blob_of_wrong_size_is_corruption(
    azurite: str, azure_container: ContainerClient, size: int, closing: Callable[[Any], Any]
) -> None:
    racer = closing(
        AzureBlobBackend(
            azure_container.container_name, connection_string=azurite, check_exists_first=False
        )
    )
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=10))
    azure_container.upload_blob(racer.name(digest), b"truncated")
    with pytest.raises(VerificationError, match="corrupt"):
        racer.put(digest, pseudo_random(size, seed=10))
    assert azure_container.download_blob(racer.name(digest)).readall() == b"truncated"


def test_corrupt_small_blob_never_yields_a_byte(
    backend: AzureBlobBackend, azure_container: ContainerClient
) -> None:
    digest = _digest(SMALL)
    backend.put(digest, _chunks(SMALL))
    tampered = bytes([SMALL[0] ^ 1]) + SMALL[1:]  # same size, one bit flipped
    azure_container.upload_blob(backend.name(digest), tampered, overwrite=True)
    received: list[bytes] = []
    with pytest.raises(VerificationError, match="corrupt"):
        received.extend(backend.open(digest))
    assert received == []


def test_corrupt_large_blob_fails_before_the_end(
    backend: AzureBlobBackend, azure_container: ContainerClient
) -> None:
    size = 10 * MiB
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=6))
    backend.put(digest, pseudo_random(size, seed=6))
    azure_container.upload_blob(
        backend.name(digest), b"".join(pseudo_random(size, seed=7)), overwrite=True
    )
    received = 0
    with pytest.raises(VerificationError):
        for chunk in backend.open(digest):
            received += len(chunk)
    assert received < size  # the last chunk is held back until the digest is checked


def test_64_mib_streamed_in_constant_memory(
    backend: AzureBlobBackend, azure_container: ContainerClient
) -> None:
    size = 64 * MiB
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=8))
    tracemalloc.start()
    try:
        assert backend.put(digest, pseudo_random(size, seed=8), size=size) == size
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        hasher = hashlib.sha256()
        for chunk in backend.open(digest):
            hasher.update(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hasher.hexdigest() == digest.hex
    # 8 MiB blocks, 2 in flight + 1 being filled: about 33 MiB whatever the blob's size; the
    # SDK's downloader holds about 11 copies of its 4 MiB chunk.
    assert put_peak < 48 * MiB, put_peak
    assert get_peak < 56 * MiB, get_peak
    blocks = azure_container.get_blob_client(backend.name(digest)).get_block_list("committed")[0]
    assert len(blocks) == 8


def test_missing_container_says_so(azurite: str, closing: Callable[[Any], Any]) -> None:
    nowhere = closing(AzureBlobBackend("no-such-container", connection_string=azurite))
    with pytest.raises(ServiceError, match="does not exist") as err:
        nowhere.put(_digest(SMALL), _chunks(SMALL))
    assert err.value.hint and "create the container" in err.value.hint


def test_validate(backend: AzureBlobBackend, azure_container: ContainerClient) -> None:
    backend.validate()
    assert _names(azure_container) == []  # the probe was deleted


def test_concurrent_writer_wins_the_race(
    backend: AzureBlobBackend, azure_container: ContainerClient
) -> None:
    """Another writer stores the blob while our blocks are staged: the commit is refused, ok."""
    size = 20 * MiB
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=12))

    def racing() -> Iterator[bytes]:
        for i, chunk in enumerate(pseudo_random(size, seed=12)):
            if i == 10:  # one block staged; Put Blob discards it
                whole = b"".join(pseudo_random(size, seed=12))
                azure_container.upload_blob(backend.name(digest), whole)
            yield chunk

    assert backend.put(digest, racing()) == size
    assert backend.exists(digest) == size
    hasher = hashlib.sha256()
    for chunk in backend.open(digest):
        hasher.update(chunk)
    assert hasher.hexdigest() == digest.hex
