"""Upload evidence to, and download it from, the CAS (docs/api.md, ``/cas/v1``).

Blobs are addressed by digest. ``upload`` asks first (HEAD) and skips bytes the CAS already
has; ``upload_streamed`` reads the file once, hashing while it sends, and names the digest after
the bytes (``POST /uploads``): no skip, for large files whose hash pass would cost more than a
skip saves. ``download`` hashes while it writes and never leaves a file whose bytes do not match.
Both stream in 1 MiB chunks, so memory stays flat whatever the blob's size. When the CAS
cannot be reached after the session's retries, the NetworkError names the CAS URL (it may be
a separate service from the control plane: ``CHAINPROOF_CAS_URL`` on the server).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, NetworkError, TooLarge, VerificationError

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient, HttpSession

__all__ = [
    "CHUNK_SIZE",
    "STREAM_MIN",
    "Progress",
    "download",
    "streams",
    "upload",
    "upload_streamed",
]

CHUNK_SIZE = 1024 * 1024
#: Files at least this large are hashed while they are sent when the CAS backend allows it
#: (``upload_streamed``). Below it, the hash pass is cheap and keeps the HEAD skip.
STREAM_MIN = 64 * 1024 * 1024
_DIGEST_LEN = len("sha256:") + 64
Progress = Callable[[int, int], None]
"""``progress(bytes_done, total)``; called as bytes move."""


def _session(cas_url: str, token: str, api: ApiClient | None) -> HttpSession:
    if api is not None:
        return api.session_for(cas_url, token)
    from chainproof.client.http import HttpSession

    return HttpSession(cas_url, token)


def _blob_path(digest: Digest) -> str:
    return f"/blobs/{digest}"


@contextmanager
def _naming_the_cas(cas_url: str, session: HttpSession) -> Iterator[None]:
    """Re-raise a NetworkError as one that names the CAS and how often it was tried."""
    try:
        yield
    except NetworkError as err:
        raise NetworkError(
            f"the CAS at {cas_url} is unavailable "
            f"(tried {session.tries} times with backoff): {err.message}",
            hint="the control plane sends clients to this CAS URL; check that the CAS is "
            "running and reachable from here (server setting CHAINPROOF_CAS_URL)",
        ) from err


def _check_size(file_path: Path, total: int, max_size: int | None) -> None:
    if max_size is not None and total > max_size:
        raise TooLarge(
            f"{file_path.name} is {total} bytes: the CAS backend accepts at most {max_size}",
            hint="an admin can raise the backend's limit (cas-backend update --max-size)",
            max_blob_size=max_size,
        )


def streams(grant: dict[str, object], size: int) -> bool:
    """Whether a file of ``size`` bytes goes up with :func:`upload_streamed` under ``grant``
    (a CAS upload grant: its backend says ``streams``)."""
    backend = grant.get("backend")
    return size >= STREAM_MIN and isinstance(backend, dict) and backend.get("streams") is True


def upload(
    cas_url: str,
    token: str,
    path: Path | str,
    digest: Digest | str,
    *,
    progress: Progress | None = None,
    api: ApiClient | None = None,
    max_size: int | None = None,
) -> bool:
    """Upload the file at ``path`` under ``digest`` unless the CAS has it already.

    Returns True when bytes were sent, False when the blob was already there. The file is
    streamed in 1 MiB chunks (a fresh stream on each retry), never read whole. The CAS
    re-hashes what it receives and answers ``verification_failed`` (VerificationError) on a
    mismatch. ``max_size`` (the grant's ``backend.max_blob_size``) refuses a larger file with
    TooLarge before anything is sent. ``api`` lends its transport, timeout and retry
    settings. NetworkError naming ``cas_url`` when the CAS stays unreachable.
    """
    dig = digest if isinstance(digest, Digest) else Digest.parse(digest)
    file_path = Path(path)
    total = file_path.stat().st_size
    _check_size(file_path, total, max_size)
    with _session(cas_url, token, api) as session, _naming_the_cas(cas_url, session):
        head = session.request("HEAD", _blob_path(dig), accept=(404,))
        if head.status != 404:
            if progress:
                progress(total, total)
            return False

        def chunks() -> Iterator[bytes]:
            done = 0
            with open(file_path, "rb") as fh:
                while chunk := fh.read(CHUNK_SIZE):
                    done += len(chunk)
                    yield chunk
                    if progress:
                        progress(done, total)

        session.request(
            "PUT",
            _blob_path(dig),
            content=chunks,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(total)},
        )
    return True


def upload_streamed(
    cas_url: str,
    token: str,
    path: Path | str,
    *,
    progress: Progress | None = None,
    api: ApiClient | None = None,
    max_size: int | None = None,
) -> tuple[Digest, int]:
    """Upload the file at ``path`` reading it once; return its digest and size.

    The body is the file's bytes hashed as they are read, then their digest (``POST
    /uploads``); the CAS stores them under it only when they hash to it. A retry sends a
    fresh stream (the same bytes name the same blob, so it is idempotent). VerificationError
    when the file changed size while it was read; TooLarge as :func:`upload`.
    """
    file_path = Path(path)
    total = file_path.stat().st_size
    _check_size(file_path, total, max_size)
    sent: list[Digest] = []

    def body() -> Iterator[bytes]:
        hasher = hashlib.sha256()
        done = 0
        with open(file_path, "rb") as fh, closing(_read_ahead(fh, hasher, total)) as chunks:
            for chunk in chunks:
                done += len(chunk)
                yield chunk
                if progress:
                    progress(done, total)
        if done != total:
            raise VerificationError(
                f"{file_path} changed while it was uploaded ({done} of {total} bytes read)",
                hint="upload it again once nothing writes to it",
            )
        sent.append(Digest("sha256", hasher.hexdigest()))
        yield str(sent[-1]).encode()

    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(total + _DIGEST_LEN),
    }
    with _session(cas_url, token, api) as session, _naming_the_cas(cas_url, session):
        # Idempotent: the same bytes name the same blob, so a failed attempt is sent again.
        reply = session.request(
            "POST", "/uploads", content=body, headers=headers, idempotency_key=str(uuid.uuid4())
        )
    answer = reply.json() or {}
    if not sent or answer.get("digest") != str(sent[-1]):
        raise VerificationError(
            f"the CAS stored {file_path.name} as {answer.get('digest')}, not as "
            f"{sent[-1] if sent else 'what was sent'}",
            hint="upload it again",
        )
    return sent[-1], total


def _read_ahead(fh: BinaryIO, hasher: hashlib._Hash, total: int) -> Generator[bytes, None, None]:
    """Up to ``total`` bytes of ``fh`` in chunks, each hashed into ``hasher``; the next chunk
    is read and hashed in a thread while the caller sends this one.

    Reading, hashing (hashlib on large buffers) and sending all release the GIL: done in turn,
    the socket sat idle while the CLI hashed, and the server in turn waited for bytes.
    """

    def next_chunk(left: int) -> bytes:
        chunk = fh.read(min(CHUNK_SIZE, left))
        hasher.update(chunk)
        return chunk

    with ThreadPoolExecutor(1, thread_name_prefix="cas-read") as reader:
        done = 0
        pending = reader.submit(next_chunk, total)
        while chunk := pending.result():
            done += len(chunk)
            if done < total:
                pending = reader.submit(next_chunk, total - done)
            yield chunk
            if done >= total:
                return


def download(
    cas_url: str,
    token: str,
    digest: Digest | str,
    dest: Path | str,
    *,
    progress: Progress | None = None,
    api: ApiClient | None = None,
) -> Path:
    """Download the blob ``digest`` to ``dest`` and return ``dest``.

    Bytes go to a temporary file beside ``dest`` while being hashed; on a digest mismatch the
    temporary file is deleted and VerificationError raised, otherwise it is renamed onto
    ``dest`` atomically; an interrupted download leaves no file either. NotFound when the CAS
    does not serve that digest to this token; NetworkError naming ``cas_url`` when the CAS
    stays unreachable.
    """
    dig = digest if isinstance(digest, Digest) else Digest.parse(digest)
    if dig.algorithm != "sha256":
        raise InvalidInput(f"cannot verify a {dig.algorithm} download; use a sha256 digest")
    target = Path(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as fh,
            _session(cas_url, token, api) as session,
            _naming_the_cas(cas_url, session),
        ):
            sink = _HashingSink(fh, progress)
            session.download(_blob_path(dig), on_start=sink.start, on_chunk=sink.write)
            fh.flush()
            os.fsync(fh.fileno())
        got = sink.hexdigest()
        if got != dig.hex:
            raise VerificationError(
                f"downloaded bytes do not match {dig}: got sha256:{got}",
                hint="the blob is corrupt or was tampered with; nothing was written",
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


class _HashingSink:
    """Writes chunks to a file while hashing them; restartable for retries."""

    def __init__(self, fh: BinaryIO, progress: Progress | None) -> None:
        self._fh = fh
        self._progress = progress
        self._hash = hashlib.sha256()
        self._done = 0
        self._total = 0

    def start(self, total: int | None) -> None:
        self._fh.seek(0)
        self._fh.truncate()
        self._hash = hashlib.sha256()
        self._done = 0
        self._total = total or 0

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        self._hash.update(chunk)
        self._done += len(chunk)
        if self._progress:
            self._progress(self._done, self._total)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
