"""The CAS ASGI application: ``HEAD|PUT|GET /blobs/{digest}``, ``POST /uploads`` (docs/api.md).

It trusts only the short-lived tokens the control plane mints (:mod:`chainproof.cas.tokens`).
Each token names the organisation's backend it may use; a :class:`BackendSource` turns that
name into a :class:`Target` (the backend and its ``max_blob_size``). Uploads stream from the
socket into the backend, hashed on the way; nothing is buffered whole. An upload whose
``Content-Length`` is over the backend's limit is refused (413 ``too_large``) before a byte of
it is read; one without a length is cut off as soon as it crosses the limit.
``POST /uploads`` takes a blob whose digest follows its bytes (``sha256:<hex>``, the last 71
bytes of the body), so that a client hashes while it sends; the backend (a
:class:`StreamingBackend`) commits the bytes under that digest only when they hash to it.
A run-less upload (``artifact upload``) is recorded with its uploader; when the organisation
already holds the digest, the uploader's bytes are still read and hashed (not stored again)
before the upload is recorded, so that nobody gains a download right by naming a digest.
Mounted at ``/cas/v1`` inside the control plane (embedded profile) or served alone
(``chainproof cas serve``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chainproof.cas._body import Body, pumped
from chainproof.cas.backend import Backend, DigestWriter, StreamingBackend, check_algorithm
from chainproof.cas.tokens import EMBEDDED, CasGrant, decode_token
from chainproof.core.digest import Digest
from chainproof.errors import (
    ChainproofError,
    Conflict,
    InvalidInput,
    NotFound,
    ServiceError,
    TooLarge,
    Unauthorized,
)

__all__ = ["BackendSource", "BlobIndex", "StaticSource", "Target", "create_cas_app"]

log = logging.getLogger(__name__)


class BlobIndex(Protocol):
    """Which blobs each organisation owns (the control plane's ``cas_blobs`` table)."""

    def lookup(self, org: str, digest: Digest) -> int | None:
        """The blob's size when ``org`` owns it, else None."""
        ...

    def record(self, org: str, digest: Digest, size: int, backend: str) -> None:
        """Note that ``org`` uploaded ``digest`` into ``backend`` (a token's backend claim)."""
        ...

    def uploaded_by(self, grant: CasGrant, digest: Digest) -> int | None:
        """The blob's size when the ``grant``'s uploader (its run, or its run-less uploader)
        already uploaded it."""
        ...

    def record_upload(self, grant: CasGrant, digest: Digest, size: int) -> None:
        """Note that the ``grant``'s run or run-less uploader sent ``digest`` (proof that it
        holds the bytes)."""
        ...


@dataclass(frozen=True)
class Target:
    """A backend a token may use: the store, its name for messages, its size limit."""

    backend: Backend
    name: str
    max_blob_size: int | None = None
    description: str = ""

    @property
    def label(self) -> str:
        """``'name' (description)`` for messages."""
        return f"{self.name!r} ({self.description})" if self.description else repr(self.name)


class BackendSource(Protocol):
    """Resolves a token's ``backend`` claim for its organisation."""

    def target(self, org: str, backend: str) -> Target:
        """The backend; NotFound when ``org`` has no such backend."""
        ...


class StaticSource:
    """One backend for every organisation (the embedded profile without configured backends)."""

    def __init__(
        self, backend: Backend, *, name: str = EMBEDDED, max_blob_size: int | None = None
    ) -> None:
        self._target = Target(backend, name, max_blob_size)

    def target(self, org: str, backend: str) -> Target:
        """The one backend, for the ``embedded`` claim only."""
        if backend != EMBEDDED:
            raise NotFound(f"CAS backend {backend} not found")
        return self._target


def _problem(err: ChainproofError) -> JSONResponse:
    return JSONResponse(
        err.to_problem(), status_code=err.http_status, media_type="application/problem+json"
    )


def create_cas_app(
    backends: Backend | BackendSource,
    secret_key: str,
    index: BlobIndex | None = None,
) -> Starlette:
    """Build the CAS app; ``index`` scopes HEAD/PUT per organisation.

    ``backends`` is a :class:`BackendSource`, or one Backend used as the ``embedded`` one.
    """
    source = StaticSource(backends) if isinstance(backends, Backend) else backends

    def grant_for(request: Request, operation: str, digest: Digest | None) -> CasGrant:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a CAS token is required", hint="ask POST /api/v1/cas/tokens")
        grant = decode_token(secret_key, token.strip())
        grant.allow(operation, digest)
        return grant

    def target_of(grant: CasGrant) -> Target:
        return source.target(grant.org, grant.backend)

    def owned_size(grant: CasGrant, digest: Digest) -> int | None:
        if grant.direction == "upload" and index is not None:
            if grant.recorded:
                return index.uploaded_by(grant, digest)
            return index.lookup(grant.org, digest)
        return target_of(grant).backend.exists(digest)

    def parse_digest(request: Request) -> Digest:
        digest = Digest.parse(str(request.path_params["digest"]))
        check_algorithm(digest)
        return digest

    async def head_blob(request: Request) -> Response:
        digest = parse_digest(request)
        grant = grant_for(request, "head", digest)
        size = await anyio.to_thread.run_sync(owned_size, grant, digest)
        if size is None:
            raise NotFound(f"blob {digest} not found")
        return Response(status_code=200, headers={"Content-Length": str(size)})

    async def get_blob(request: Request) -> Response:
        digest = parse_digest(request)
        grant = grant_for(request, "get", digest)
        target = await anyio.to_thread.run_sync(target_of, grant)
        size = await anyio.to_thread.run_sync(target.backend.exists, digest)
        if size is None:
            raise NotFound(f"blob {digest} not found")
        chunks = await anyio.to_thread.run_sync(target.backend.open, digest)
        return StreamingResponse(
            chunks,
            media_type="application/octet-stream",
            headers={"Content-Length": str(size)},
        )

    async def put_blob(request: Request) -> Response:
        digest = parse_digest(request)
        grant = grant_for(request, "put", digest)
        target = await anyio.to_thread.run_sync(target_of, grant)
        size = await anyio.to_thread.run_sync(owned_size, grant, digest)
        if size is not None:
            return JSONResponse({"digest": str(digest), "size": size}, status_code=200)
        announced = _content_length(request)
        limit = target.max_blob_size
        if limit is not None and announced is not None and announced > limit:
            # Refused before a byte of the body is read.
            raise _too_large(digest, target, f"{announced} bytes")
        held = None
        if grant.recorded and index is not None:
            held = await anyio.to_thread.run_sync(index.lookup, grant.org, digest)

        def chunks(body: Body) -> Iterator[bytes]:
            seen = 0
            for chunk in body.chunks():
                seen += len(chunk)
                if limit is not None and seen > limit:
                    raise _too_large(digest, target, f"more than {limit} bytes")
                yield chunk

        if held is not None and index is not None:
            # Stored already: hash the uploader's copy (proof of possession), keep nothing.
            await pumped(request.stream(), lambda body: _hash_only(digest, chunks(body)))
            await anyio.to_thread.run_sync(index.record_upload, grant, digest, held)
            return JSONResponse({"digest": str(digest), "size": held}, status_code=200)
        written = await pumped(
            request.stream(),
            lambda body: target.backend.put(digest, chunks(body), size=announced),
        )
        if index is not None:
            await anyio.to_thread.run_sync(index.record, grant.org, digest, written, grant.backend)
            if grant.recorded:
                await anyio.to_thread.run_sync(index.record_upload, grant, digest, written)
        return JSONResponse({"digest": str(digest), "size": written}, status_code=201)

    async def post_upload(request: Request) -> Response:
        grant = grant_for(request, "put", None)
        target = await anyio.to_thread.run_sync(target_of, grant)
        backend = target.backend
        if not isinstance(backend, StreamingBackend):
            raise Conflict(
                f"CAS backend {target.label} needs the digest before the bytes",
                hint="hash the file first and PUT /blobs/{digest}",
            )
        size = _streamed_size(request)
        if target.max_blob_size is not None and size > target.max_blob_size:
            raise _too_large("the blob", target, f"{size} bytes")
        trailer = _Trailer(size)

        def chunks(body: Body) -> Iterator[bytes]:
            for chunk in body.chunks():
                yield from trailer.split(chunk)

        written = await pumped(
            request.stream(),
            lambda body: backend.put_streamed(chunks(body), trailer.digest, size=size),
        )
        digest = trailer.digest()
        if index is not None:
            await anyio.to_thread.run_sync(index.record, grant.org, digest, written, grant.backend)
            if grant.recorded:
                await anyio.to_thread.run_sync(index.record_upload, grant, digest, written)
        return JSONResponse({"digest": str(digest), "size": written}, status_code=201)

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ChainproofError):
            return _problem(exc)
        log.exception("CAS request failed: %s %s", request.method, request.url.path)
        return _problem(ServiceError("the CAS failed to handle the request"))

    async def on_disconnect(request: Request, exc: Exception) -> Response:
        # The client went away, or stalled and was cut off (server/serving.py): no bug. Its
        # own handler (not Exception's) so that it is not re-raised to the enclosing app.
        log.info("CAS upload abandoned by the client: %s %s", request.method, request.url.path)
        return Response(status_code=400)

    handlers: dict[type[Exception] | int, Callable[..., object]] = {
        ChainproofError: on_error,
        ClientDisconnect: on_disconnect,
        Exception: on_error,
    }
    return Starlette(
        routes=[
            Route("/blobs/{digest}", head_blob, methods=["HEAD"]),
            Route("/blobs/{digest}", get_blob, methods=["GET"]),
            Route("/blobs/{digest}", put_blob, methods=["PUT"]),
            Route("/uploads", post_upload, methods=["POST"]),
        ],
        exception_handlers=handlers,  # type: ignore[arg-type]  # starlette's handler union
    )


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        size = int(raw)
    except ValueError:
        raise InvalidInput(f"bad Content-Length {raw!r}") from None
    if size < 0:
        raise InvalidInput(f"bad Content-Length {raw!r}")
    return size


#: ``sha256:<64 hex>``: the digest after the bytes of a streamed upload.
TRAILER = len("sha256:") + 64


def _streamed_size(request: Request) -> int:
    """The blob's size: the announced length less the digest that follows the bytes."""
    announced = _content_length(request)
    if announced is None or announced < TRAILER:
        raise InvalidInput(
            "a streamed upload announces its Content-Length: the blob's size plus "
            f"{TRAILER} bytes of its sha256:<hex> digest"
        )
    return announced - TRAILER


class _Trailer:
    """Splits a streamed upload's body into the blob's ``size`` bytes and its digest."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._tail = bytearray()
        self._digest: Digest | None = None

    def split(self, chunk: bytes) -> Iterator[bytes]:
        """The blob's bytes within ``chunk``; keeps what follows them."""
        if self._left:
            take = min(self._left, len(chunk))
            self._left -= take
            yield chunk if take == len(chunk) else chunk[:take]
            chunk = chunk[take:]
        self._tail += chunk

    def digest(self) -> Digest:
        """The digest that followed the bytes; InvalidInput when it is not one."""
        if self._digest is None:
            try:
                text = bytes(self._tail).decode("ascii")
                parsed = Digest.parse(text)
            except (UnicodeDecodeError, InvalidInput):
                raise InvalidInput(
                    f"a streamed upload ends with its digest, sha256:<hex> ({TRAILER} bytes)"
                ) from None
            check_algorithm(parsed)
            if self._left or len(self._tail) != TRAILER:
                raise InvalidInput("a streamed upload ended before its digest")
            self._digest = parsed
        return self._digest


def _too_large(digest: Digest | str, target: Target, what: str) -> TooLarge:
    limit = target.max_blob_size
    hint = (
        "the server's operator can raise CHAINPROOF_CAS_MAX_BLOB_SIZE"
        if target.name == EMBEDDED
        else f"an admin can raise it: chainproof cas-backend update --name {target.name} "
        "--max-size SIZE"
    )
    blob = f"blob {digest}" if isinstance(digest, Digest) else digest
    return TooLarge(
        f"{blob} is {what}: CAS backend {target.label} accepts at most {limit} bytes "
        f"({_human(limit or 0)})",
        hint=hint,
        max_blob_size=limit,
        backend=target.name,
    )


def _human(size: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def _hash_only(digest: Digest, chunks: Iterable[bytes]) -> None:
    """Raise VerificationError unless ``chunks`` hash to ``digest``."""
    writer = DigestWriter(digest)
    for chunk in chunks:
        writer.update(chunk)
    writer.verify()
