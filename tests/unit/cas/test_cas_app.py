"""The CAS app alone, over in-memory backends: per-backend targets from the token's claim,
the size limit before the body is read (Content-Length) and while it streams."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import pytest
from starlette.testclient import TestClient

from chainproof.cas.app import StaticSource, Target, create_cas_app
from chainproof.cas.memory import InMemoryBackend
from chainproof.cas.tokens import mint_token
from chainproof.core.digest import Digest
from chainproof.errors import NotFound

KEY = "k" * 40


class TwoBackends:
    """Org ``o`` has backends ``a`` (limit 100 bytes) and ``b`` (no limit)."""

    def __init__(self) -> None:
        self.a = InMemoryBackend()
        self.b = InMemoryBackend()

    def target(self, org: str, backend: str) -> Target:
        if org != "o" or backend not in ("a", "b"):
            raise NotFound(f"CAS backend {backend} not found")
        if backend == "a":
            return Target(self.a, "a", 100, "memory a")
        return Target(self.b, "b", None)


@pytest.fixture
def source() -> TwoBackends:
    return TwoBackends()


@pytest.fixture
def client(source: TwoBackends) -> Iterator[TestClient]:
    with TestClient(create_cas_app(source, KEY), raise_server_exceptions=False) as c:
        yield c


def _auth(backend: str, direction: str = "upload", digest: Digest | None = None) -> dict[str, str]:
    token, _ = mint_token(KEY, org="o", direction=direction, backend=backend, digest=digest)
    return {"Authorization": f"Bearer {token}"}


def _digest(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def test_uploads_go_to_the_backend_the_token_names(client: TestClient, source: TwoBackends) -> None:
    data = b"small"
    digest = _digest(data)
    assert client.put(f"/blobs/{digest}", content=data, headers=_auth("a")).status_code == 201
    assert source.a.exists(digest) == len(data) and source.b.exists(digest) is None
    got = client.get(f"/blobs/{digest}", headers=_auth("a", "download", digest))
    assert got.content == data
    assert client.get(f"/blobs/{digest}", headers=_auth("b", "download", digest)).status_code == 404
    assert client.put(f"/blobs/{digest}", content=data, headers=_auth("zzz")).status_code == 404


def test_announced_size_over_the_limit_is_refused_before_reading(
    client: TestClient, source: TwoBackends
) -> None:
    digest = _digest(b"x" * 500)
    reply = client.put(f"/blobs/{digest}", content=b"x" * 500, headers=_auth("a"))
    assert reply.status_code == 413
    problem = reply.json()
    assert problem["code"] == "too_large"
    assert "500 bytes" in problem["detail"] and "'a' (memory a)" in problem["detail"]
    assert "at most 100 bytes" in problem["detail"]
    assert source.a.exists(digest) is None


def test_streamed_upload_is_cut_off_at_the_limit(client: TestClient, source: TwoBackends) -> None:
    chunks = [b"y" * 60] * 3
    digest = _digest(b"".join(chunks))
    reply = client.put(f"/blobs/{digest}", content=iter(chunks), headers=_auth("a"))
    assert reply.status_code == 413 and "more than 100 bytes" in reply.json()["detail"]
    assert source.a.exists(digest) is None
    # The unlimited backend takes it.
    assert (
        client.put(f"/blobs/{digest}", content=iter(chunks), headers=_auth("b")).status_code == 201
    )


def test_a_single_backend_is_the_embedded_one() -> None:
    backend = InMemoryBackend()
    app = create_cas_app(backend, KEY)
    data = b"embedded"
    digest = _digest(data)
    with TestClient(app, raise_server_exceptions=False) as client:
        ok = client.put(f"/blobs/{digest}", content=data, headers=_auth("embedded"))
        assert ok.status_code == 201 and backend.exists(digest) == len(data)
        other = client.put(f"/blobs/{digest}", content=data, headers=_auth("b-1"))
        assert other.status_code == 404
    limited = StaticSource(backend, max_blob_size=3)
    assert limited.target("any-org", "embedded").max_blob_size == 3


class SizeRecorder(InMemoryBackend):
    """The in-memory backend, noting the size each ``put`` was told."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int | None] = []

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        self.sizes.append(size)
        return super().put(digest, chunks, size=size)


def test_every_backend_is_told_the_announced_size() -> None:
    backend = SizeRecorder()
    with TestClient(create_cas_app(backend, KEY), raise_server_exceptions=False) as client:
        known, streamed = b"with a Content-Length", [b"without ", b"one"]
        put = client.put(f"/blobs/{_digest(known)}", content=known, headers=_auth("embedded"))
        assert put.status_code == 201
        digest = _digest(b"".join(streamed))
        put = client.put(f"/blobs/{digest}", content=iter(streamed), headers=_auth("embedded"))
        assert put.status_code == 201
    assert backend.sizes == [len(known), None]
