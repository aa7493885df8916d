"""What the OCI CAS backend puts on the wire: an authenticated request, request bodies that can
be sent again, the evidence manifest. Private to :mod:`chainproof.cas.oci`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from chainproof.cas.backend import DigestWriter
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, VerificationError
from chainproof.oci.registry import RegistryClient, split_repository

ARTIFACT_TYPE = "application/vnd.chainproof.evidence.v1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER_TYPE = "application/octet-stream"
# The OCI empty descriptor (image-spec manifest.md "Guidance for an Empty Descriptor").
EMPTY_CONFIG = b"{}"
EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG_DIGEST = Digest("sha256", hashlib.sha256(EMPTY_CONFIG).hexdigest())

MiB = 1024 * 1024
PIECE = MiB  # largest piece handed to httpx: larger ones make httpcore's send loop quadratic
TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})
NAME = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")

__all__ = [
    "ARTIFACT_TYPE",
    "EMPTY_CONFIG",
    "EMPTY_CONFIG_DIGEST",
    "OCI_MANIFEST",
    "TRANSIENT",
    "Client",
    "Source",
    "SourceError",
    "error_code",
    "exactly",
    "manifest",
    "parse_repository",
    "request_body",
    "whole_body",
]


class Client(RegistryClient):
    """The shared registry client plus one authenticated request with any method and body."""

    def __init__(self, host: str, path: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.path = path
        self.base_url = self._http.base_url

    def attempt(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        body: Callable[[], Iterable[bytes]] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send once (twice after an auth challenge: ``body`` makes a fresh body each time).

        Raises httpx.TransportError; ChainproofErrors from the token service pass through.
        """
        challenged = False
        while True:
            request = self._http.build_request(
                method,
                url,
                headers=self._auth(self.path, dict(headers or {})),
                content=None if body is None else body(),
            )
            redirects = method in ("GET", "HEAD")  # blob storage behind a redirect (S3, CDN)
            response = self._http.send(request, stream=stream, follow_redirects=redirects)
            if response.status_code != 401 or challenged:
                return response
            response.close()
            challenged = True
            self._authenticate(response, self.path)


class SourceError(Exception):
    """Carries an exception raised by the caller's chunks through httpx, untouched."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Source:
    """The caller's chunks: hashed as they are pulled, size-capped, cut at request bounds.

    Without a ``digest`` (a streamed upload, named at its commit) nothing is hashed here: the
    registry checks the bytes against the digest the commit names.
    """

    def __init__(
        self, chunks: Iterable[bytes], digest: Digest | None, limit: int, declared: int | None
    ) -> None:
        self._items = iter(chunks)
        self._writer = DigestWriter(digest) if digest is not None else None
        self._limit = limit
        self._declared = declared
        self._pending = memoryview(b"")
        self.ended = False
        self.size = 0
        """Bytes pulled so far."""

    @property
    def hashed(self) -> bool:
        """Whether the bytes are hashed here (else only the registry checks them)."""
        return self._writer is not None

    @property
    def _what(self) -> str:
        return f"blob {self._writer.expected}" if self._writer else "the blob"

    def _pull(self) -> bool:
        while not self.ended:
            try:
                item = next(self._items)
            except StopIteration:
                self.ended = True
                break
            except Exception as err:
                raise SourceError(err) from err
            if not item:
                continue
            if self._writer is not None:
                self._writer.update(item)
            self.size += len(item)
            if self.size > self._limit:
                raise InvalidInput(
                    f"{self._what} is over the {self._limit}-byte limit",
                    hint="raise the backend's max_blob_size or store a smaller file",
                )
            if self._declared is not None and self.size > self._declared:
                raise VerificationError(
                    f"{self._what} is longer than its declared {self._declared} bytes"
                )
            self._pending = memoryview(item).cast("B")
            return True
        return False

    def take(self, n: int) -> Iterator[bytes]:
        """Up to ``n`` bytes in pieces of at most 1 MiB; fewer only at the end of the stream."""
        while n > 0:
            if not self._pending and not self._pull():
                return
            piece = self._pending[: min(n, PIECE)]
            self._pending = self._pending[len(piece) :]
            n -= len(piece)
            whole = piece.obj
            yield (
                whole if isinstance(whole, bytes) and len(whole) == len(piece) else piece.tobytes()
            )

    def read(self, n: int) -> bytearray:
        """Up to ``n`` bytes in memory."""
        out = bytearray()
        for piece in self.take(n):
            out += piece
        return out

    def expect_end(self) -> None:
        """Raise VerificationError unless the stream is exhausted."""
        if self._pending or self._pull():
            raise VerificationError(
                f"{self._what} is longer than its declared {self._declared} bytes"
            )

    def verify(self) -> None:
        """Raise VerificationError unless the bytes pulled hash to the digest (when hashed)."""
        if self._writer is not None:
            self._writer.verify()


def request_body(source: Source, record: bytearray, length: int, start: int) -> Iterator[bytes]:
    """Bytes ``start..length`` of a request: what ``record`` kept, then more from ``source``.

    Everything pulled is appended to ``record`` first, so a failed request can be sent again.
    """
    for i in range(start, len(record), PIECE):
        yield bytes(record[i : i + PIECE])
    for piece in source.take(length - len(record)):
        record += piece
        yield piece
    if len(record) < length:
        raise VerificationError(
            f"the stream of {source.size} bytes is shorter than its declared {length} bytes"
        )


def exactly(source: Source, length: int) -> Iterator[bytes]:
    """The next ``length`` bytes of ``source``, as they come; VerificationError if fewer."""
    sent = 0
    for piece in source.take(length):
        sent += len(piece)
        yield piece
    if sent < length:
        raise VerificationError(
            f"the stream of {source.size} bytes is shorter than its declared {length} bytes"
        )


def whole_body(source: Source, record: bytearray, length: int) -> Iterator[bytes]:
    """A monolithic body: the last piece is held back until the stream proved it is over.

    With a Content-Length the registry commits as soon as it has the last byte; checking first
    keeps a longer-than-declared stream from committing its prefix.
    """
    last: bytes | None = None
    for piece in request_body(source, record, length, 0):
        if last is not None:
            yield last
        last = piece
    source.expect_end()
    if last is not None:
        yield last


def manifest(digest: Digest, size: int) -> bytes:
    """The evidence manifest of a blob (image-spec v1.1 manifest.md, artifact guidance)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": {
            "mediaType": EMPTY_CONFIG_TYPE,
            "digest": str(EMPTY_CONFIG_DIGEST),
            "size": len(EMPTY_CONFIG),
            "data": "e30=",
        },
        "layers": [
            {
                "mediaType": LAYER_TYPE,
                "digest": str(digest),
                "size": size,
                "annotations": {"org.opencontainers.image.title": f"{digest.hex}"},
            }
        ],
    }
    return json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()


def error_code(response: httpx.Response) -> str:
    """The first distribution error code of an answer (``DIGEST_INVALID``...), or ''."""
    try:
        errors = json.loads(response.read() or b"{}").get("errors") or []
        return str(errors[0].get("code", "")) if errors else ""
    except Exception:  # unreadable or not distribution's error format
        return ""


def parse_repository(repository: str) -> tuple[str, str]:
    repository = repository.removeprefix("oci://").strip("/")
    first = repository.partition("/")[0]
    host, path = split_repository(repository)
    if host != first or not path or not NAME.match(path):
        raise InvalidInput(
            f"not an OCI repository for the CAS: {repository!r}",
            hint="write it as host[:port]/path, e.g. registry.example.com/chainproof/evidence",
        )
    return host, path
