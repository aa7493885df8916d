"""CAS upload/download over httpx.MockTransport with an in-memory blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from chainproof.client import cas
from chainproof.client.http import ApiClient
from chainproof.core.digest import Digest
from chainproof.errors import NetworkError, NotFound, TooLarge, VerificationError

CAS_TOKEN = "eyJ.cas.token"


class FakeCas:
    """HEAD/PUT/GET on /cas/v1/blobs/<digest>, checking the bearer token and the digest."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.calls: list[str] = []
        self.fail_next: list[int] = []
        self.corrupt = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.method)
        assert request.headers["authorization"] == f"Bearer {CAS_TOKEN}"
        if self.fail_next:
            return httpx.Response(self.fail_next.pop(0))
        digest = request.url.path.rsplit("/", 1)[-1]
        if request.method == "HEAD":
            blob = self.blobs.get(digest)
            if blob is None:
                return httpx.Response(404)
            return httpx.Response(200, headers={"content-length": str(len(blob))})
        if request.method == "POST" and request.url.path.endswith("/uploads"):
            body = request.read()
            data, named = body[:-71], body[-71:].decode()
            if "sha256:" + hashlib.sha256(data).hexdigest() != named:
                return httpx.Response(422, json={"code": "verification_failed", "detail": "no"})
            self.blobs[named] = data
            return httpx.Response(201, json={"digest": named, "size": len(data)})
        if request.method == "PUT":
            data = request.read()
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                return httpx.Response(
                    422,
                    json={"code": "verification_failed", "detail": "digest mismatch"},
                    headers={"content-type": "application/problem+json"},
                )
            self.blobs[digest] = data
            return httpx.Response(201)
        if request.method == "GET":
            blob = self.blobs.get(digest)
            if blob is None:
                return httpx.Response(
                    404,
                    json={"code": "not_found", "detail": "no such blob"},
                    headers={"content-type": "application/problem+json"},
                )
            return httpx.Response(200, content=b"X" + blob[1:] if self.corrupt else blob)
        return httpx.Response(405)


@pytest.fixture
def fake() -> FakeCas:
    return FakeCas()


@pytest.fixture
def api(fake: FakeCas) -> ApiClient:
    return ApiClient(
        "http://cp.test", "cp_api", transport=httpx.MockTransport(fake), sleep=lambda s: None
    )


def write(tmp_path: Path, data: bytes) -> tuple[Path, Digest]:
    path = tmp_path / "evidence.bin"
    path.write_bytes(data)
    return path, Digest.of_bytes(data)


def test_upload_streams_file_then_dedupes(tmp_path: Path, fake: FakeCas, api: ApiClient) -> None:
    data = b"a" * (cas.CHUNK_SIZE * 2 + 10)
    path, digest = write(tmp_path, data)
    seen: list[tuple[int, int]] = []

    assert (
        cas.upload(
            "http://cp.test/cas/v1",
            CAS_TOKEN,
            path,
            digest,
            progress=lambda d, t: seen.append((d, t)),
            api=api,
        )
        is True
    )
    assert fake.blobs[str(digest)] == data
    assert fake.calls == ["HEAD", "PUT"]
    assert seen[-1] == (len(data), len(data))
    assert len(seen) == 3  # one call per 1 MiB chunk

    fake.calls.clear()
    assert cas.upload("http://cp.test/cas/v1", CAS_TOKEN, path, str(digest), api=api) is False
    assert fake.calls == ["HEAD"]


def test_upload_retries_put_with_a_fresh_stream(
    tmp_path: Path, fake: FakeCas, api: ApiClient
) -> None:
    path, digest = write(tmp_path, b"hello evidence")
    fake.fail_next = [404]  # HEAD: not there
    fake.blobs.clear()

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and fake.calls.count("PUT") == 0:
            fake.calls.append("PUT")
            request.read()
            return httpx.Response(503)
        return fake(request)

    api = ApiClient(
        "http://cp.test", "cp_api", transport=httpx.MockTransport(flaky), sleep=lambda s: None
    )
    assert cas.upload("http://cp.test/cas/v1", CAS_TOKEN, path, digest, api=api)
    assert fake.blobs[str(digest)] == b"hello evidence"


def test_upload_refused_on_digest_mismatch(tmp_path: Path, api: ApiClient) -> None:
    path, _ = write(tmp_path, b"real bytes")
    with pytest.raises(VerificationError):
        cas.upload("http://cp.test/cas/v1", CAS_TOKEN, path, Digest.of_bytes(b"other"), api=api)


def test_download_writes_verified_file(tmp_path: Path, fake: FakeCas, api: ApiClient) -> None:
    data = b"sbom " * 1000
    digest = Digest.of_bytes(data)
    fake.blobs[str(digest)] = data
    dest = tmp_path / "out" / "sbom.json"
    assert cas.download("http://cp.test/cas/v1", CAS_TOKEN, digest, dest, api=api) == dest
    assert dest.read_bytes() == data
    assert list(dest.parent.iterdir()) == [dest]


def test_download_mismatch_leaves_no_file(tmp_path: Path, fake: FakeCas, api: ApiClient) -> None:
    data = b"original bytes"
    digest = Digest.of_bytes(data)
    fake.blobs[str(digest)] = data
    fake.corrupt = True
    dest = tmp_path / "blob"
    with pytest.raises(VerificationError, match="do not match"):
        cas.download("http://cp.test/cas/v1", CAS_TOKEN, digest, dest, api=api)
    assert list(tmp_path.iterdir()) == []


def test_download_mismatch_keeps_existing_destination(
    tmp_path: Path, fake: FakeCas, api: ApiClient
) -> None:
    digest = Digest.of_bytes(b"payload")
    fake.blobs[str(digest)] = b"payload"
    fake.corrupt = True
    dest = tmp_path / "blob"
    dest.write_bytes(b"previous")
    with pytest.raises(VerificationError):
        cas.download("http://cp.test/cas/v1", CAS_TOKEN, digest, dest, api=api)
    assert dest.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [dest]


def test_download_not_found(tmp_path: Path, api: ApiClient) -> None:
    with pytest.raises(NotFound):
        cas.download(
            "http://cp.test/cas/v1", CAS_TOKEN, Digest.of_bytes(b"x"), tmp_path / "x", api=api
        )
    assert list(tmp_path.iterdir()) == []


def test_download_retries_on_503(tmp_path: Path, fake: FakeCas, api: ApiClient) -> None:
    digest = Digest.of_bytes(b"payload")
    fake.blobs[str(digest)] = b"payload"
    fake.fail_next = [503, 503]
    dest = tmp_path / "blob"
    cas.download("http://cp.test/cas/v1", CAS_TOKEN, digest, dest, api=api)
    assert dest.read_bytes() == b"payload"
    assert fake.calls == ["GET", "GET", "GET"]


def test_unreachable_cas_is_named_after_bounded_retries(tmp_path: Path) -> None:
    attempts: list[str] = []
    delays: list[float] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request.method)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    api = ApiClient(
        "http://cp.test",
        "cp_api",
        transport=httpx.MockTransport(refuse),
        retries=3,
        backoff=0.5,
        sleep=delays.append,
    )
    path, digest = write(tmp_path, b"evidence")
    with pytest.raises(NetworkError) as caught:
        cas.upload("http://cas.test/cas/v1", CAS_TOKEN, path, digest, api=api)
    assert caught.value.message.startswith("the CAS at http://cas.test/cas/v1 is unavailable")
    assert "tried 4 times" in caught.value.message and "Connection refused" in caught.value.message
    assert CAS_TOKEN not in caught.value.message
    assert attempts == ["HEAD"] * 4
    assert len(delays) == 3 and all(
        0 <= d <= cap for d, cap in zip(delays, (0.5, 1, 2), strict=True)
    )

    with pytest.raises(NetworkError, match=r"the CAS at http://cas\.test/cas/v1"):
        cas.download("http://cas.test/cas/v1", CAS_TOKEN, digest, tmp_path / "out", api=api)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_upload_over_max_size_sends_nothing(tmp_path: Path, fake: FakeCas, api: ApiClient) -> None:
    path, digest = write(tmp_path, b"12345")
    with pytest.raises(TooLarge, match="at most 4"):
        cas.upload("http://cp.test/cas/v1", CAS_TOKEN, path, digest, api=api, max_size=4)
    assert fake.calls == []
    assert cas.upload("http://cp.test/cas/v1", CAS_TOKEN, path, digest, api=api, max_size=5)


def test_download_reports_progress(tmp_path: Path, fake: FakeCas, api: ApiClient) -> None:
    data = b"z" * (cas.CHUNK_SIZE + 5)
    digest = Digest.of_bytes(data)
    fake.blobs[str(digest)] = data
    seen: list[tuple[int, int]] = []
    cas.download(
        "http://cp.test/cas/v1",
        CAS_TOKEN,
        digest,
        tmp_path / "out",
        api=api,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (len(data), len(data))


def test_upload_streamed_reads_once_and_names_the_digest_last(
    tmp_path: Path, fake: FakeCas, api: ApiClient
) -> None:
    data = b"b" * (cas.CHUNK_SIZE * 2 + 10)
    path, digest = write(tmp_path, data)
    seen: list[tuple[int, int]] = []
    fake.fail_next = [503]  # the first attempt fails: a fresh stream is sent again
    got = cas.upload_streamed(
        "http://cp.test/cas/v1",
        CAS_TOKEN,
        path,
        progress=lambda d, t: seen.append((d, t)),
        api=api,
    )
    assert got == (digest, len(data))
    assert fake.blobs[str(digest)] == data
    assert fake.calls == ["POST", "POST"]  # no HEAD: the digest is not known before
    assert seen[-1] == (len(data), len(data))
    with pytest.raises(TooLarge):
        cas.upload_streamed("http://cp.test/cas/v1", CAS_TOKEN, path, api=api, max_size=10)


def test_only_large_files_of_streaming_backends_are_streamed() -> None:
    grant: dict[str, object] = {"backend": {"name": "b", "provider": "oci", "streams": True}}
    assert cas.streams(grant, cas.STREAM_MIN)
    assert not cas.streams(grant, cas.STREAM_MIN - 1)  # hashed first: keeps the HEAD skip
    assert not cas.streams({"backend": {"provider": "s3", "streams": False}}, cas.STREAM_MIN)
    assert not cas.streams({"backend": {"provider": "fs"}}, cas.STREAM_MIN)  # an older server


def test_a_file_that_shrinks_while_streamed_is_refused(
    tmp_path: Path, fake: FakeCas, api: ApiClient
) -> None:
    # The next chunk is read (and hashed) while this one is sent: a file cut short under the
    # upload still ends it with VerificationError, and nothing is stored.
    data = b"c" * (cas.CHUNK_SIZE * 4)
    path, _ = write(tmp_path, data)

    def cut(done: int, total: int) -> None:
        with open(path, "r+b") as fh:
            fh.truncate(cas.CHUNK_SIZE + 5)

    with pytest.raises(VerificationError, match="changed while it was uploaded"):
        cas.upload_streamed("http://cp.test/cas/v1", CAS_TOKEN, path, progress=cut, api=api)
    assert fake.blobs == {}


def test_a_file_that_grows_while_streamed_is_stored_as_it_was(
    tmp_path: Path, fake: FakeCas, api: ApiClient
) -> None:
    data = b"d" * (cas.CHUNK_SIZE * 2 + 3)
    path, digest = write(tmp_path, data)

    def grow(done: int, total: int) -> None:
        with open(path, "ab") as fh:
            fh.write(b"more")

    got = cas.upload_streamed("http://cp.test/cas/v1", CAS_TOKEN, path, progress=grow, api=api)
    assert got == (digest, len(data))
    assert fake.blobs[str(digest)] == data
