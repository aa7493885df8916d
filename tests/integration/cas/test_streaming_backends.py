"""The backends that take a blob's bytes before its digest (``StreamingBackend.put_streamed``,
what ``POST /cas/v1/uploads`` uses): the fs store and the OCI registry (docker-registry), alone
and behind the CAS app in uvicorn (a client that goes away mid-upload).

The digest is asked once the bytes are sent; nothing may become visible unless they hash to
it, whatever goes wrong: a wrong digest (also one naming a blob already stored, with bytes of
its size: the CAS records possession on success), a stream that fails, ends early or runs
long, a digest that cannot be read.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.cas.test_backend_contract import SIZES, _chunks, _fs, _nothing_stored, _oci
from tests.served import served

from chainproof.cas.backend import Backend, StreamingBackend
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, VerificationError

KEY = "k" * 40


@pytest.fixture(params=["fs", "oci"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    impl = {"fs": _fs, "oci": _oci}[request.param](request)
    assert isinstance(impl, StreamingBackend)
    yield impl
    impl.close()


def _named(digest: Digest) -> Callable[[], Digest]:
    return lambda: digest


def _spool_is_empty(backend: Backend) -> None:
    root = getattr(backend, "root", None)  # fs: no temporary file left behind
    if isinstance(root, Path) and (root / "uploads").exists():
        assert not list((root / "uploads").iterdir())


@pytest.mark.parametrize("name", list(SIZES))
def test_streamed_put_stores_under_the_late_digest(backend: StreamingBackend, name: str) -> None:
    data = SIZES[name]
    digest = Digest.of_bytes(data)
    asked: list[int] = []

    def late() -> Digest:
        asked.append(1)
        return digest

    assert backend.put_streamed(_chunks(data), late, size=len(data)) == len(data)
    assert asked  # asked once the bytes are sent
    assert isinstance(backend, Backend) and backend.exists(digest) == len(data)
    assert b"".join(backend.open(digest)) == data
    # Again (a retry, or another run proving possession): stored once, still readable.
    assert backend.put_streamed(_chunks(data), late, size=len(data)) == len(data)
    assert b"".join(backend.open(digest)) == data
    _spool_is_empty(backend)


@pytest.mark.parametrize("name", ["small", "large"])
def test_a_wrong_digest_stores_nothing(backend: Backend, name: str) -> None:
    assert isinstance(backend, StreamingBackend)
    data = SIZES[name]
    claimed = Digest.of_bytes(data + b"!")
    with pytest.raises(VerificationError, match=str(claimed)):
        backend.put_streamed(_chunks(data), _named(claimed), size=len(data))
    _nothing_stored(backend, claimed)
    _nothing_stored(backend, Digest.of_bytes(data))
    _spool_is_empty(backend)


@pytest.mark.parametrize("name", ["small", "large"])
def test_other_bytes_under_a_stored_digest_are_refused(backend: Backend, name: str) -> None:
    # Knowing a stored blob's digest and size must not pass for holding its bytes.
    assert isinstance(backend, StreamingBackend)
    data = SIZES[name]
    digest = Digest.of_bytes(data)
    backend.put(digest, _chunks(data), size=len(data))
    with pytest.raises(VerificationError):
        backend.put_streamed(_chunks(b"x" * len(data)), _named(digest), size=len(data))
    assert b"".join(backend.open(digest)) == data
    _spool_is_empty(backend)


@pytest.mark.parametrize("error", [1, -1], ids=["longer", "shorter"])
def test_a_stream_of_another_size_stores_nothing(backend: Backend, error: int) -> None:
    assert isinstance(backend, StreamingBackend)
    data = SIZES["large"]
    digest = Digest.of_bytes(data)
    with pytest.raises(VerificationError):
        backend.put_streamed(_chunks(data), _named(digest), size=len(data) + error)
    _nothing_stored(backend, digest)
    _spool_is_empty(backend)


def test_an_interrupted_stream_or_unreadable_digest_stores_nothing(backend: Backend) -> None:
    assert isinstance(backend, StreamingBackend)
    data = SIZES["large"]
    digest = Digest.of_bytes(data)

    def broken() -> Iterator[bytes]:
        yield from _chunks(data[: len(data) // 2])
        raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        backend.put_streamed(broken(), _named(digest), size=len(data))
    _nothing_stored(backend, digest)

    def unreadable() -> Digest:
        raise InvalidInput("a streamed upload ends with its digest")

    with pytest.raises(InvalidInput, match="ends with its digest"):
        backend.put_streamed(_chunks(data), unreadable, size=len(data))
    _nothing_stored(backend, digest)
    _spool_is_empty(backend)
    assert backend.put_streamed(_chunks(data), _named(digest), size=len(data)) == len(data)


@pytest.fixture
def cas_port(backend: Backend) -> Iterator[int]:
    """The CAS app over ``backend`` (as the embedded one) in uvicorn on 127.0.0.1."""
    from chainproof.cas.app import create_cas_app

    with served(create_cas_app(backend, KEY), log_level="error") as port:
        yield port


def test_a_client_that_goes_away_mid_upload_leaves_nothing(backend: Backend, cas_port: int) -> None:
    import time

    from chainproof.cas.tokens import EMBEDDED, mint_token

    data = SIZES["large"]
    digest = Digest.of_bytes(data)
    token, _ = mint_token(KEY, org="o", direction="upload", backend=EMBEDDED)
    head = (
        f"POST /uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(data) + 71}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", cas_port)) as conn:
        conn.sendall(head + data[: len(data) // 2])
        time.sleep(0.3)  # the backend is writing by now
    deadline = time.monotonic() + 10
    while True:  # the server notices the disconnect, then cleans up
        try:
            _nothing_stored(backend, digest)
            _spool_is_empty(backend)
            break
        except AssertionError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    # The same upload, whole, goes through.
    with socket.create_connection(("127.0.0.1", cas_port)) as conn:
        conn.sendall(head + data + str(digest).encode())
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert backend.exists(digest) == len(data)
