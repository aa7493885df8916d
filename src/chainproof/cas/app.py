"""The CAS ASGI application: ``HEAD|PUT|GET /blobs/{digest}`` (docs/api.md, CAS).

It trusts only the short-lived tokens the control plane mints (:mod:`chainproof.cas.tokens`).
Uploads stream from the socket into the backend, hashed on the way; nothing is buffered whole.
Mounted at ``/cas/v1`` inside the control plane (embedded profile) or served alone.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Protocol

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chainproof.cas.backend import Backend, check_algorithm
from chainproof.cas.tokens import CasGrant, decode_token
from chainproof.core.digest import Digest
from chainproof.errors import ChainproofError, NotFound, ServiceError, Unauthorized

__all__ = ["BlobIndex", "create_cas_app"]

log = logging.getLogger(__name__)


class BlobIndex(Protocol):
    """Which blobs each organisation owns (the control plane's ``cas_blobs`` table)."""

    def lookup(self, org: str, digest: Digest) -> int | None:
        """The blob's size when ``org`` owns it, else None."""
        ...

    def record(self, org: str, digest: Digest, size: int) -> None:
        """Note that ``org`` uploaded ``digest``."""
        ...


def _problem(err: ChainproofError) -> JSONResponse:
    return JSONResponse(
        err.to_problem(), status_code=err.http_status, media_type="application/problem+json"
    )


def create_cas_app(
    backend: Backend,
    secret_key: str,
    index: BlobIndex | None = None,
) -> Starlette:
    """Build the CAS app over ``backend``; ``index`` scopes HEAD/PUT per organisation."""

    def grant_for(request: Request, operation: str, digest: Digest) -> CasGrant:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("a CAS token is required", hint="ask POST /api/v1/cas/tokens")
        grant = decode_token(secret_key, token.strip())
        grant.allow(operation, digest)
        return grant

    def owned_size(grant: CasGrant, digest: Digest) -> int | None:
        if grant.direction == "upload" and index is not None:
            return index.lookup(grant.org, digest)
        return backend.exists(digest)

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
        grant_for(request, "get", digest)
        size = await anyio.to_thread.run_sync(backend.exists, digest)
        if size is None:
            raise NotFound(f"blob {digest} not found")
        chunks = await anyio.to_thread.run_sync(backend.open, digest)
        return StreamingResponse(
            chunks,
            media_type="application/octet-stream",
            headers={"Content-Length": str(size)},
        )

    async def put_blob(request: Request) -> Response:
        digest = parse_digest(request)
        grant = grant_for(request, "put", digest)
        size = await anyio.to_thread.run_sync(owned_size, grant, digest)
        if size is not None:
            return JSONResponse({"digest": str(digest), "size": size}, status_code=200)
        stream: AsyncIterator[bytes] = request.stream()

        def chunks() -> Iterator[bytes]:
            while True:
                try:
                    chunk = anyio.from_thread.run(_next_chunk, stream)
                except StopAsyncIteration:
                    return
                if chunk:
                    yield chunk

        written = await anyio.to_thread.run_sync(backend.put, digest, chunks())
        if index is not None:
            await anyio.to_thread.run_sync(index.record, grant.org, digest, written)
        return JSONResponse({"digest": str(digest), "size": written}, status_code=201)

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ChainproofError):
            return _problem(exc)
        log.exception("CAS request failed: %s %s", request.method, request.url.path)
        return _problem(ServiceError("the CAS failed to handle the request"))

    handlers: dict[type[Exception] | int, Callable[..., object]] = {
        ChainproofError: on_error,
        Exception: on_error,
    }
    return Starlette(
        routes=[
            Route("/blobs/{digest}", head_blob, methods=["HEAD"]),
            Route("/blobs/{digest}", get_blob, methods=["GET"]),
            Route("/blobs/{digest}", put_blob, methods=["PUT"]),
        ],
        exception_handlers=handlers,  # type: ignore[arg-type]  # starlette's handler union
    )


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes:
    return await stream.__anext__()
