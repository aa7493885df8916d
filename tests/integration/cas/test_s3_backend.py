"""S3Backend over HTTP against ``moto_server``, a STAND-IN for AWS S3.

moto (PyPI ``moto[server]``) is the only S3 server installable here: no MinIO, Garage or
SeaweedFS package exists in the reachable registries. It is started on a loopback port by the
``s3_endpoint`` session fixture (tests/cas_servers.py) and spoken to over real HTTP by boto3.

What moto does and does not check, as measured with moto 5.2:
- it honours ``If-None-Match: *`` on PutObject and CompleteMultipartUpload (412
  PreconditionFailed when the key exists); ``test_moto_honours_if_none_match`` pins that;
- it does NOT verify the ``ChecksumSHA256`` values it is sent (AWS S3 does, and rejects a
  mismatch with 400 BadDigest), so corruption in transit cannot be tested here. The
  backend's own SHA-256 check of the whole blob, before completing and after reading, is
  what these tests exercise.

The Backend contract (round trip, mismatches, idempotence, concurrency) runs on S3 too, in
test_backend_contract.py; this module tests what is S3's own: layout and checksums, aborted
multipart uploads, the 412 path, limits, errors and memory use.
"""

from __future__ import annotations

import base64
import hashlib
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.cas_servers import S3_KEY_ID, S3_SECRET, pseudo_random

from chainproof.cas.s3 import S3Backend, S3Credentials
from chainproof.core.digest import Digest
from chainproof.errors import (
    ServiceError,
    VerificationError,
)

MiB = 1024 * 1024
SMALL = b"chainproof evidence\n" * 5000
CREDS = S3Credentials(S3_KEY_ID, S3_SECRET)


def _digest(data: bytes) -> Digest:
    return Digest.of_bytes(data)


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
def backend(s3_endpoint: str, s3_bucket: str) -> Iterator[S3Backend]:
    impl = S3Backend(
        s3_bucket,
        prefix="org-1",
        endpoint_url=s3_endpoint,
        credentials=CREDS,
        max_blob_size=256 * MiB,
    )
    yield impl
    impl.close()


def _uploads(s3_raw: Any, s3_bucket: str) -> list[Any]:
    return list(s3_raw.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []))


def _keys(s3_raw: Any, s3_bucket: str) -> list[str]:
    return [o["Key"] for o in s3_raw.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]


def test_layout_and_checksum(backend: S3Backend, s3_raw: Any, s3_bucket: str) -> None:
    digest = _digest(SMALL)
    assert backend.put(digest, _chunks(SMALL), size=len(SMALL)) == len(SMALL)
    assert _keys(s3_raw, s3_bucket) == [f"org-1/sha256/{digest.hex}"]
    head = s3_raw.head_object(Bucket=s3_bucket, Key=backend.key(digest), ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(digest.hex)).decode()


def test_dedupe_sends_nothing_and_still_checks_bytes(
    backend: S3Backend, s3_raw: Any, s3_bucket: str
) -> None:
    digest = _digest(SMALL)
    backend.put(digest, _chunks(SMALL))
    before = s3_raw.head_object(Bucket=s3_bucket, Key=backend.key(digest))
    time.sleep(1.1)  # LastModified has one-second resolution
    assert backend.put(digest, _chunks(SMALL)) == len(SMALL)
    after = s3_raw.head_object(Bucket=s3_bucket, Key=backend.key(digest))
    assert after["LastModified"] == before["LastModified"]
    with pytest.raises(VerificationError):
        backend.put(digest, _chunks(b"x" * len(SMALL)))


@pytest.mark.parametrize("size", [len(SMALL), 20 * MiB], ids=["put-object", "multipart"])
def test_digest_mismatch_aborts_the_upload(
    backend: S3Backend, s3_raw: Any, s3_bucket: str, size: int
) -> None:
    claimed = _digest(b"the claimed bytes")
    with pytest.raises(VerificationError, match=str(claimed)):
        backend.put(claimed, pseudo_random(size, seed=3))
    assert backend.exists(claimed) is None
    assert _keys(s3_raw, s3_bucket) == []
    assert _uploads(s3_raw, s3_bucket) == []  # the multipart upload was aborted


def test_failing_stream_aborts_the_upload(backend: S3Backend, s3_raw: Any, s3_bucket: str) -> None:
    size = 20 * MiB
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=4))

    def broken() -> Iterator[bytes]:
        for i, chunk in enumerate(pseudo_random(size, seed=4)):
            if i == 12:  # after the first part was uploaded
                raise OSError("client killed mid-upload")
            yield chunk

    with pytest.raises(OSError, match="killed"):
        backend.put(digest, broken())
    assert backend.exists(digest) is None
    assert _uploads(s3_raw, s3_bucket) == []
    assert backend.put(digest, pseudo_random(size, seed=4)) == size
    assert backend.exists(digest) == size


def test_moto_honours_if_none_match(s3_raw: Any, s3_bucket: str) -> None:
    """The stand-in enforces the precondition the backend relies on (else this test fails)."""
    s3_raw.put_object(Bucket=s3_bucket, Key="k", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as err:
        s3_raw.put_object(Bucket=s3_bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    upload = s3_raw.create_multipart_upload(Bucket=s3_bucket, Key="k")["UploadId"]
    part = s3_raw.upload_part(Bucket=s3_bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"x")
    with pytest.raises(ClientError) as err:
        s3_raw.complete_multipart_upload(
            Bucket=s3_bucket,
            Key="k",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            IfNoneMatch="*",
        )
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3_raw.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"first"


@pytest.mark.parametrize("size", [len(SMALL), 20 * MiB], ids=["put-object", "multipart"])
def test_precondition_failed_counts_as_stored(
    s3_endpoint: str, s3_raw: Any, s3_bucket: str, size: int, closing: Callable[[Any], Any]
) -> None:
    """Without the HEAD first, the write reaches S3, which refuses it with 412: success."""
    racer = closing(
        S3Backend(s3_bucket, endpoint_url=s3_endpoint, credentials=CREDS, check_exists_first=False)
    )
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=5))
    assert racer.put(digest, pseudo_random(size, seed=5)) == size
    etag = s3_raw.head_object(Bucket=s3_bucket, Key=racer.key(digest))["ETag"]
    assert racer.put(digest, pseudo_random(size, seed=5)) == size  # 412 -> already stored
    assert s3_raw.head_object(Bucket=s3_bucket, Key=racer.key(digest))["ETag"] == etag
    assert _uploads(s3_raw, s3_bucket) == []  # the refused multipart upload was aborted


@pytest.mark.parametrize("size", [len(SMALL), 20 * MiB], ids=["put-object", "multipart"])
def test_precondition_failed_on_wrong_size_is_corruption(
    s3_endpoint: str, s3_raw: Any, s3_bucket: str, size: int, closing: Callable[[Any], Any]
) -> None:
    """Proves the 412 path: had the stand-in overwritten the key, put() would succeed."""
    racer = closing(
        S3Backend(s3_bucket, endpoint_url=s3_endpoint, credentials=CREDS, check_exists_first=False)
    )
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=10))
    s3_raw.put_object(Bucket=s3_bucket, Key=racer.key(digest), Body=b"truncated")
    with pytest.raises(VerificationError, match="corrupt"):
        racer.put(digest, pseudo_random(size, seed=10))
    assert s3_raw.get_object(Bucket=s3_bucket, Key=racer.key(digest))["Body"].read() == b"truncated"
    assert _uploads(s3_raw, s3_bucket) == []


def test_corrupt_small_blob_never_yields_a_byte(
    backend: S3Backend, s3_raw: Any, s3_bucket: str
) -> None:
    digest = _digest(SMALL)
    backend.put(digest, _chunks(SMALL))
    tampered = bytes([SMALL[0] ^ 1]) + SMALL[1:]  # same size, one bit flipped
    s3_raw.put_object(Bucket=s3_bucket, Key=backend.key(digest), Body=tampered)
    received: list[bytes] = []
    with pytest.raises(VerificationError, match="corrupt"):
        received.extend(backend.open(digest))
    assert received == []


def test_corrupt_large_blob_fails_before_the_end(
    backend: S3Backend, s3_raw: Any, s3_bucket: str
) -> None:
    size = 6 * MiB
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=6))
    backend.put(digest, pseudo_random(size, seed=6))
    s3_raw.put_object(
        Bucket=s3_bucket, Key=backend.key(digest), Body=b"".join(pseudo_random(size, seed=7))
    )
    received = 0
    with pytest.raises(VerificationError):
        for chunk in backend.open(digest):
            received += len(chunk)
    assert received < size  # the last chunk is held back until the digest is checked


def test_64_mib_streamed_in_constant_memory(
    backend: S3Backend, s3_raw: Any, s3_bucket: str
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
    # 8 MiB parts, 2 in flight + 1 being filled: about 33 MiB whatever the blob's size.
    assert put_peak < 48 * MiB, put_peak
    assert get_peak < 16 * MiB, get_peak
    etag = s3_raw.head_object(Bucket=s3_bucket, Key=backend.key(digest))["ETag"]
    assert etag.strip('"').endswith("-8")  # a multipart upload of 8 parts


def test_missing_bucket_says_so(s3_endpoint: str, closing: Callable[[Any], Any]) -> None:
    nowhere = closing(S3Backend("no-such-bucket-here", endpoint_url=s3_endpoint, credentials=CREDS))
    with pytest.raises(ServiceError, match="does not exist") as err:
        nowhere.put(_digest(SMALL), _chunks(SMALL))
    assert err.value.hint and "create the bucket" in err.value.hint


def test_validate(backend: S3Backend, s3_raw: Any, s3_bucket: str) -> None:
    backend.validate()
    assert _keys(s3_raw, s3_bucket) == []  # the probe was deleted


def test_concurrent_writer_wins_the_race(backend: S3Backend, s3_raw: Any, s3_bucket: str) -> None:
    """Another writer stores the blob while our multipart upload runs: 412 on complete, ok."""
    size = 20 * MiB
    digest, _ = Digest.of_chunks(pseudo_random(size, seed=12))

    def racing() -> Iterator[bytes]:
        for i, chunk in enumerate(pseudo_random(size, seed=12)):
            if i == 10:
                whole = b"".join(pseudo_random(size, seed=12))
                s3_raw.put_object(Bucket=s3_bucket, Key=backend.key(digest), Body=whole)
            yield chunk

    assert backend.put(digest, racing()) == size
    assert _uploads(s3_raw, s3_bucket) == []
    assert backend.exists(digest) == size
