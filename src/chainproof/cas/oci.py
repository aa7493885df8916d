"""An OCI registry CAS backend: evidence kept as blobs of one repository of a registry.

Wire protocol (OCI distribution-spec v1.1, spec.md "Pushing blobs" and "Pulling blobs"):

- ``put``: ``POST /v2/<name>/blobs/uploads/``, then for blobs up to ``monolithic_max`` one
  ``PUT <location>?digest=`` carrying the whole body, and for larger ones ``PATCH`` requests of
  ``chunk_size`` bytes with ``Content-Range`` and a closing ``PUT ?digest=``. The body streams
  from the caller's chunks and is hashed as it passes; the registry refuses to commit bytes that
  do not hash to the digest (``DIGEST_INVALID``), and a chunked upload is checked here before the
  commit, so a mismatch never becomes visible. Memory stays bounded by ``max(monolithic_max,
  chunk_size)``: the bytes of the current request are kept so that a request that fails on a
  transient error (connection reset, 5xx) is sent again without asking the caller for them.
- ``put_streamed`` (the digest named after the bytes, ``POST /cas/v1/uploads``): one ``PATCH``
  carrying the bytes as they come, nothing kept or hashed here, then ``PUT ?digest=``; the
  registry refuses to commit bytes that do not hash to it, and a refused or lost commit is an
  error (a blob of that digest found afterwards may be another uploader's copy).
- Each committed blob is then referenced by a small OCI artifact manifest (artifactType
  ``application/vnd.chainproof.evidence.v1``, the empty config, ``layers=[the blob]``) tagged
  :func:`evidence_tag`, so the registry's garbage collector never deletes evidence. ``exists``
  counts a blob as stored only once that manifest is there: a blob left behind by an upload that
  died before its manifest is uploaded again.
- ``open``: ``GET /v2/<name>/blobs/<digest>`` streamed and hashed on the fly; a dropped
  connection resumes with ``Range``. A mismatch raises VerificationError after the last chunk.
- ``delete``: the manifest (by digest, as distribution requires), then the blob. Registries that
  refuse blob deletion (many hosted ones) still drop the reference; their GC reclaims the blob.

Authentication reuses :class:`chainproof.oci.registry.RegistryClient` (anonymous, basic, or the
Docker bearer-token flow). Plain HTTP is used only for loopback registries.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import NoReturn

import httpx

from chainproof.cas._oci_wire import (
    ARTIFACT_TYPE,
    EMPTY_CONFIG,
    EMPTY_CONFIG_DIGEST,
    OCI_MANIFEST,
    TRANSIENT,
    Client,
    Source,
    SourceError,
    error_code,
    exactly,
    manifest,
    parse_repository,
    request_body,
    whole_body,
)
from chainproof.cas._stream import probe
from chainproof.cas.backend import check_algorithm
from chainproof.core.digest import Digest
from chainproof.errors import (
    InvalidInput,
    NetworkError,
    NotFound,
    ServiceError,
    Unauthorized,
    VerificationError,
)
from chainproof.oci.registry import Credentials, ManifestInfo, credentials_for

__all__ = ["ARTIFACT_TYPE", "OciBackend", "evidence_tag"]

MiB = 1024 * 1024


def evidence_tag(digest: Digest) -> str:
    """The tag of the manifest that keeps ``digest`` alive: ``sha256-<hex>.evidence``.

    Not the bare ``sha256-<hex>``: that is the OCI 1.1 referrers tag schema, which a client
    without the referrers API would write for artifacts whose subject is this blob.
    """
    return f"{digest.algorithm}-{digest.hex}.evidence"


class OciBackend:
    """Blobs in ``repository`` (``host[:port]/path``) of an OCI distribution registry.

    ``credentials`` win; otherwise, when ``environ`` is given, they are looked up with
    :func:`chainproof.oci.registry.credentials_for` (``CHAINPROOF_REGISTRY_*`` or the Docker
    config); otherwise requests are anonymous. Transient failures (connect errors, timeouts,
    408/429/5xx) are retried ``retries`` times with exponential backoff from ``backoff`` seconds;
    then NetworkError names the registry and repository.
    """

    def __init__(
        self,
        repository: str,
        *,
        credentials: Credentials | None = None,
        environ: Mapping[str, str] | None = None,
        chunk_size: int = 16 * MiB,
        monolithic_max: int = 32 * MiB,
        max_blob_size: int = 100 * 1000 * 1000,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        host, path = parse_repository(repository)
        if chunk_size < 1 or monolithic_max < 0 or max_blob_size < 0 or retries < 0:
            raise InvalidInput("chunk_size must be positive; sizes and retries not negative")
        if credentials is None and environ is not None:
            credentials = credentials_for(host, environ)
        self.host = host
        self.path = path
        self.chunk_size = chunk_size
        self.monolithic_max = monolithic_max
        self.max_blob_size = max_blob_size
        self.retries = retries
        self.backoff = backoff
        self._client = Client(
            host, path, credentials=credentials, timeout=timeout, transport=transport
        )
        self._config_stored = False

    def __repr__(self) -> str:
        return f"OciBackend(repository={self.repository!r})"

    def __enter__(self) -> OciBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def repository(self) -> str:
        """``host[:port]/path`` of the repository that holds the blobs."""
        return f"{self.host}/{self.path}"

    # -- Backend protocol -------------------------------------------------------------------

    def exists(self, digest: Digest) -> int | None:
        """The blob's size, or None unless both the blob and its evidence manifest are there."""
        check_algorithm(digest)
        size = self._blob_size(digest)
        if size is None:
            return None
        manifest = self._call("HEAD", self._manifest_url(evidence_tag(digest)), accept=True)
        if manifest.status_code == 404:
            return None
        self._expect(manifest, (200,), f"check the evidence manifest of {digest}")
        return size

    def open(self, digest: Digest) -> Iterator[bytes]:
        """The blob's bytes as they arrive; NotFound when it is not stored.

        The bytes are hashed on the fly and VerificationError is raised, in place of the last
        chunk, when they do not match ``digest`` (a corrupt or tampered registry copy). A
        consumer must read to the end before trusting the bytes, and must treat everything it
        received as invalid when iteration raises.
        """
        check_algorithm(digest)
        url = self._blob_url(digest)
        response = self._call("GET", url, stream=True)
        if response.status_code == 404:
            response.close()
            raise NotFound(f"blob {digest} not found in OCI registry {self.repository}")
        if response.status_code != 200:
            response.read()
            response.close()
            self._refused(response, f"download {digest}")
        return self._verified(digest, url, response)

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Upload ``chunks`` as blob ``digest``, reference it by a manifest, return its size.

        ``size``, when known, is checked against ``max_blob_size`` before anything is sent and
        against the stream. Raises VerificationError (nothing visible) when the bytes do not
        hash to ``digest`` or differ from ``size``, InvalidInput when the blob is too large, and
        re-raises whatever the caller's ``chunks`` raise.
        """
        size = self.upload(digest, chunks, size=size)
        self._put_manifest(digest, size)
        return size

    def upload(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Upload blob ``digest`` without an evidence manifest (the caller references it, as
        the OCI export does: integrations/oci_export.py); its size. Errors as :meth:`put`."""
        check_algorithm(digest)
        if size is not None:
            self._check_size(digest, size)
        source = Source(chunks, digest, self.max_blob_size, size)
        try:
            self._store_config()
            if size is None:
                # Unknown size: what fits in the monolithic limit decides the protocol.
                first = [source.read(self.monolithic_max + 1)]
                if source.ended and len(first[0]) <= self.monolithic_max:
                    self._upload_monolithic(digest, source, len(first[0]), first.pop())
                else:
                    self._upload_chunked(lambda: digest, source, None, first)
            elif size <= self.monolithic_max:
                self._upload_monolithic(digest, source, size, bytearray())
            else:
                self._upload_chunked(lambda: digest, source, size, [])
        except SourceError as wrapped:
            raise wrapped.error from None
        return source.size

    def manifest(self, reference: str) -> tuple[ManifestInfo, bytes] | None:
        """The OCI manifest ``reference`` (tag or digest) names and its bytes; None: none."""
        response = self._call("GET", self._manifest_url(reference), accept=True)
        if response.status_code == 404:
            return None
        self._expect(response, (200,), f"read manifest {reference}")
        media_type = response.headers.get("Content-Type", OCI_MANIFEST).split(";")[0]
        info = ManifestInfo(Digest.of_bytes(response.content), media_type, len(response.content))
        return info, response.content

    def describe(self, reference: str) -> ManifestInfo | None:
        """Digest, media type and size of any manifest (image, index) ``reference`` names."""
        return self._client.find(self.path, reference)

    def put_manifest(self, reference: str, document: bytes) -> Digest:
        """Store the OCI image manifest ``document`` under ``reference`` (a tag); its digest."""
        self._store_config()
        headers = {"Content-Type": OCI_MANIFEST}
        url = self._manifest_url(reference)
        response = self._call("PUT", url, headers=headers, body=partial(list, [document]))
        self._expect(response, (201,), f"store manifest {reference}")
        return Digest.of_bytes(document)

    def put_streamed(
        self, chunks: Iterable[bytes], digest: Callable[[], Digest], *, size: int
    ) -> int:
        """Upload ``size`` bytes in chunks, then commit them as ``digest()`` (StreamingBackend).

        Nothing is hashed here: the commit names the digest and the registry refuses bytes
        that do not hash to it (distribution-spec, ``DIGEST_INVALID``), so a mismatch never
        becomes visible. A blob the registry holds already is committed again at no cost.
        """
        self._check_size(Digest("sha256", "0" * 64), size)
        source = Source(chunks, None, self.max_blob_size, size)
        try:
            self._store_config()
            named = self._upload_streamed(digest, source, size)
        except SourceError as wrapped:
            raise wrapped.error from None
        self._put_manifest(named, source.size)
        return source.size

    def delete(self, digest: Digest) -> None:
        """Remove the evidence manifest and the blob; no error when they are absent."""
        check_algorithm(digest)
        head = self._call("HEAD", self._manifest_url(evidence_tag(digest)), accept=True)
        if head.status_code == 200 and head.headers.get("Docker-Content-Digest"):
            url = self._manifest_url(head.headers["Docker-Content-Digest"])
            gone = self._call("DELETE", url)
            if gone.status_code == 405:
                raise ServiceError(
                    f"OCI registry {self.repository} does not allow deleting manifests",
                    hint="enable deletion in the registry (distribution: storage.delete.enabled)",
                )
            self._expect(gone, (200, 202, 404), f"delete the evidence manifest of {digest}")
        elif head.status_code != 404:
            self._expect(head, (200,), f"find the evidence manifest of {digest}")
        if digest == EMPTY_CONFIG_DIGEST:
            return  # every evidence manifest's config: never delete it
        blob = self._call("DELETE", self._blob_url(digest))
        # 405: the registry keeps blobs until its GC runs, and nothing references this one now.
        self._expect(blob, (200, 202, 404, 405), f"delete blob {digest}")

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def validate(self) -> None:
        """Write, read back and delete a probe blob; raise the first error met."""
        probe(self, f"OCI registry {self.repository}")

    # -- uploads ---------------------------------------------------------------------------

    def _check_size(self, digest: Digest, size: int) -> None:
        if size < 0:
            raise InvalidInput(f"negative size {size} for {digest}")
        if size > self.max_blob_size:
            raise InvalidInput(
                f"blob {digest} is {size} bytes, over the {self.max_blob_size}-byte limit "
                f"of OCI registry {self.repository}",
                hint="raise the backend's max_blob_size or store a smaller file",
            )

    def _store_config(self) -> None:
        """Upload the empty config blob every evidence manifest points at, once."""
        if self._config_stored:
            return
        if self._blob_size(EMPTY_CONFIG_DIGEST) is None:
            source = Source([EMPTY_CONFIG], EMPTY_CONFIG_DIGEST, len(EMPTY_CONFIG), None)
            record = source.read(len(EMPTY_CONFIG))
            self._upload_monolithic(EMPTY_CONFIG_DIGEST, source, len(record), record)
        self._config_stored = True

    def _start_upload(self) -> tuple[httpx.URL, int]:
        """A new upload session: its location and the registry's minimum chunk size."""
        response = self._call("POST", f"/v2/{self.path}/blobs/uploads/")
        if response.status_code != 202 or "Location" not in response.headers:
            self._refused(response, "start a blob upload")
        minimum = response.headers.get("OCI-Chunk-Min-Length", "0")
        return self._location(response), int(minimum) if minimum.isdigit() else 0

    def _upload_monolithic(
        self, digest: Digest, source: Source, length: int, record: bytearray
    ) -> None:
        """POST then one PUT with the whole body; a failed attempt starts a new session."""
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        for attempt in range(self.retries + 1):
            location, _ = self._start_upload()
            try:
                response = self._client.attempt(
                    "PUT",
                    location.copy_add_param("digest", str(digest)),
                    headers=headers,
                    body=partial(whole_body, source, record, length),
                )
            except httpx.TransportError as err:
                failure: httpx.TransportError | httpx.Response = err
                self._cancel(location)
            except BaseException:
                self._cancel(location)
                raise
            else:
                if response.status_code == 201:
                    source.verify()
                    return
                self._cancel(location)
                if error_code(response) == "DIGEST_INVALID":
                    source.verify()  # raises when the caller's bytes are wrong
                elif response.status_code not in TRANSIENT:
                    self._refused(response, f"upload {digest}")
                failure = response
            if len(record) == length and self._blob_size(digest) == length:
                # Committed by this PUT (its answer was lost) or by a concurrent upload.
                source.verify()
                return
            if attempt < self.retries:
                self._sleep(attempt, failure)
        if isinstance(failure, httpx.Response) and error_code(failure) == "DIGEST_INVALID":
            self._digest_refused(digest)
        self._down("PUT", f"/v2/{self.path}/blobs/uploads/", failure)

    def _upload_chunked(
        self,
        name: Callable[[], Digest],
        source: Source,
        size: int | None,
        first: list[bytearray],
    ) -> Digest:
        """POST, PATCH chunks with Content-Range, check the digest here, then PUT ?digest=.

        ``name()``, asked once every byte is sent, is the digest to commit (and return).
        ``first`` holds bytes already read (unknown size); it is emptied so that they are freed
        once sent.
        """
        location, minimum = self._start_upload()
        chunk = max(self.chunk_size, minimum)
        offset = 0
        try:
            while True:
                if size is None:
                    record = first.pop() if first else source.read(chunk)
                    length = len(record)
                    if length == 0:
                        break
                else:
                    if offset >= size:
                        break
                    length = min(chunk, size - offset)
                    record = bytearray()
                location = self._patch(location, offset, length, record, source)
                offset += length
            source.expect_end()
            source.verify()  # before the commit: a mismatch never reaches the registry
            digest = name()
            check_algorithm(digest)
            self._commit(location, digest, offset, hashed=source.hashed)
        except BaseException:
            self._cancel(location)
            raise
        return digest

    def _upload_streamed(self, name: Callable[[], Digest], source: Source, size: int) -> Digest:
        """POST, one PATCH carrying every byte as it comes, PUT ?digest=name().

        Nothing is kept for a retry (so nothing is copied): a failed PATCH fails the upload,
        and its caller (the CAS client) sends it again.
        """
        location, _ = self._start_upload()
        try:
            if size:
                headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
                try:
                    response = self._client.attempt(
                        "PATCH", location, headers=headers, body=partial(exactly, source, size)
                    )
                except httpx.TransportError as err:
                    self._down("PATCH", location.path, err, tries=1)
                if response.status_code != 202:
                    if response.status_code in TRANSIENT:
                        self._down("PATCH", location.path, response, tries=1)
                    self._refused(response, "upload a blob")
                location = self._location(response)
            source.expect_end()
            digest = name()
            check_algorithm(digest)
            self._commit(location, digest, size, hashed=False)
        except BaseException:
            self._cancel(location)
            raise
        return digest

    def _patch(
        self, location: httpx.URL, offset: int, length: int, record: bytearray, source: Source
    ) -> httpx.URL:
        """Send bytes ``offset .. offset+length-1``; resume from what the registry has."""
        acked = offset
        for attempt in range(self.retries + 1):
            start = acked - offset
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Length": str(length - start),
                "Content-Range": f"{acked}-{offset + length - 1}",
            }
            try:
                response = self._client.attempt(
                    "PATCH",
                    location,
                    headers=headers,
                    body=partial(request_body, source, record, length, start),
                )
            except httpx.TransportError as err:
                failure: httpx.TransportError | httpx.Response = err
            else:
                if response.status_code == 202:
                    return self._location(response)
                if response.status_code not in TRANSIENT:
                    self._refused(response, "upload a chunk")
                failure = response
            if attempt == self.retries:
                break
            self._sleep(attempt, failure)
            status = self._upload_status(location)
            if status is None and offset == 0:
                # The session is gone, but every byte sent so far is still in ``record``.
                self._cancel(location)
                location, acked = self._start_upload()[0], 0
                continue
            if status is None:
                raise NetworkError(
                    f"OCI registry {self.repository} dropped an upload after a failed chunk "
                    f"({offset} bytes were acknowledged)",
                    hint="upload the blob again",
                )
            location, acked = status
            if not offset <= acked <= offset + len(record):
                raise NetworkError(
                    f"OCI registry {self.repository} lost part of an upload "
                    f"(it has {acked} bytes, {offset} were acknowledged)",
                    hint="upload the blob again",
                )
            if acked == offset + length:
                return location
        self._down("PATCH", location.path, failure)

    def _upload_status(self, location: httpx.URL) -> tuple[httpx.URL, int] | None:
        """Where to go on with an upload and how many bytes the registry holds; None when the
        session cannot be resumed.

        NOTE: distribution 2.8 signs the offset into the location's ``_state``: after a chunk
        that reached it but whose answer was lost, that location is refused (404), and the
        session with it.
        """
        response = self._call("GET", location)
        if response.status_code == 404:
            return None
        if response.status_code != 204:
            self._refused(response, "resume a blob upload")
        match = re.fullmatch(r"0-(\d+)", response.headers.get("Range", ""))
        end = int(match.group(1)) if match else 0
        # NOTE: "0-0" means both 0 and 1 byte (distribution-spec); only the first is safe.
        acked = end + 1 if end > 0 else 0
        new = self._location(response) if "Location" in response.headers else location
        return new, acked

    def _commit(self, location: httpx.URL, digest: Digest, size: int, *, hashed: bool) -> None:
        """PUT ?digest=. When the bytes were not hashed here only the registry's answer says
        they match: a blob of that digest found afterwards may be someone else's copy, so a
        refused or lost commit is an error then (the caller uploads again)."""
        url = location.copy_add_param("digest", str(digest))
        for attempt in range(self.retries + 1):
            try:
                response = self._client.attempt("PUT", url, headers={"Content-Length": "0"})
            except httpx.TransportError as err:
                failure: httpx.TransportError | httpx.Response = err
            else:
                if response.status_code == 201:
                    return
                if response.status_code == 404 and attempt and not hashed:
                    raise NetworkError(
                        f"OCI registry {self.repository} lost the answer to the commit of {digest}",
                        hint="upload the blob again",
                    )
                invalid = error_code(response) == "DIGEST_INVALID"
                if invalid and not hashed:
                    self._digest_refused(digest, hashed=False)
                if response.status_code not in TRANSIENT and not invalid:
                    self._refused(response, f"commit {digest}")
                failure = response
            if hashed and self._blob_size(digest) == size:
                return  # committed, by this PUT whose answer was lost or by a concurrent one
            if isinstance(failure, httpx.Response) and error_code(failure) == "DIGEST_INVALID":
                self._digest_refused(digest, hashed=hashed)
            if attempt < self.retries:
                self._sleep(attempt, failure)
        self._down("PUT", location.path, failure)

    def _put_manifest(self, digest: Digest, size: int) -> None:
        document = manifest(digest, size)
        url = self._manifest_url(evidence_tag(digest))
        expected = str(Digest.of_bytes(document))
        for attempt in range(self.retries + 1):
            response = self._call(
                "PUT", url, headers={"Content-Type": OCI_MANIFEST}, body=partial(list, [document])
            )
            if response.status_code == 201:
                return
            # NOTE: distribution 2.8 may answer DIGEST_INVALID to one of two concurrent PUTs of
            # the same manifest; what counts is that the tag names this manifest now.
            tagged = self._call("HEAD", url, accept=True)
            if tagged.headers.get("Docker-Content-Digest") == expected:
                return
            if error_code(response) != "DIGEST_INVALID" or attempt == self.retries:
                break
            self._sleep(attempt, response)
        self._refused(response, f"reference {digest} by its evidence manifest")

    def _cancel(self, location: httpx.URL) -> None:
        """Drop an upload session, best effort: the registry purges stale ones anyway."""
        try:
            self._client.attempt("DELETE", location).close()
        except Exception:  # noqa: S110 - a failed clean-up must not hide the real error
            pass

    def _digest_refused(self, digest: Digest, *, hashed: bool = True) -> NoReturn:
        if not hashed:
            raise VerificationError(
                f"uploaded bytes do not match {digest}: OCI registry {self.repository} "
                "computed another digest",
                hint="upload the exact bytes whose digest you named",
            )
        raise VerificationError(
            f"OCI registry {self.repository} computed another digest than {digest} "
            "for bytes that hash to it here",
            hint="the bytes were damaged on the way: upload the blob again",
        )

    # -- downloads -------------------------------------------------------------------------

    def _verified(self, digest: Digest, url: str, response: httpx.Response) -> Iterator[bytes]:
        hasher = hashlib.sha256()
        received = 0
        failures = 0
        last = b""  # held back until the digest is checked: a corrupt blob never arrives whole
        try:
            while True:
                try:
                    for piece in response.iter_bytes():
                        hasher.update(piece)
                        received += len(piece)
                        if last:
                            yield last
                        last = piece
                    break
                except httpx.TransportError as err:
                    response.close()
                    if failures == self.retries:
                        self._down("GET", url, err)
                    self._sleep(failures, err)
                    failures += 1
                    response = self._resume(digest, url, received)
        finally:
            response.close()
        got = hasher.hexdigest()
        if got != digest.hex:
            raise VerificationError(
                f"blob {digest} from OCI registry {self.repository} is corrupt: its "
                f"{received} bytes hash to sha256:{got}",
                hint="discard what was read; restore the registry copy or upload the evidence "
                "again",
            )
        if last:
            yield last

    def _resume(self, digest: Digest, url: str, received: int) -> httpx.Response:
        """The rest of a download after ``received`` bytes (Range, RFC 9110 §14.2)."""
        response = self._call("GET", url, stream=True, headers={"Range": f"bytes={received}-"})
        start = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if response.status_code == 206 and start and int(start.group(1)) == received:
            return response
        response.close()
        raise NetworkError(
            f"OCI registry {self.repository} cannot resume the download of {digest}",
            hint="download it again",
        )

    # -- requests --------------------------------------------------------------------------

    def _blob_url(self, digest: Digest | str) -> str:
        return f"/v2/{self.path}/blobs/{digest}"

    def _manifest_url(self, reference: str) -> str:
        return f"/v2/{self.path}/manifests/{reference}"

    def _blob_size(self, digest: Digest) -> int | None:
        response = self._call("HEAD", self._blob_url(digest))
        if response.status_code == 404:
            return None
        self._expect(response, (200,), f"check blob {digest}")
        return int(response.headers.get("Content-Length", "0"))

    def _location(self, response: httpx.Response) -> httpx.URL:
        return self._client.base_url.join(response.headers["Location"])

    def _call(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        body: Callable[[], Iterable[bytes]] | None = None,
        stream: bool = False,
        accept: bool = False,
    ) -> httpx.Response:
        """One request, retried on transient failures; NetworkError when retries run out."""
        headers = dict(headers or {})
        if accept:
            headers["Accept"] = OCI_MANIFEST
        for attempt in range(self.retries + 1):
            try:
                response = self._client.attempt(
                    method, url, headers=headers, body=body, stream=stream
                )
            except httpx.TransportError as err:
                failure: httpx.TransportError | httpx.Response = err
            else:
                if response.status_code not in TRANSIENT:
                    return response
                response.close()
                failure = response
            if attempt < self.retries:
                self._sleep(attempt, failure)
        self._down(method, url, failure)

    def _sleep(self, attempt: int, failure: httpx.TransportError | httpx.Response) -> None:
        delay = min(self.backoff * 2**attempt, 30.0)
        if isinstance(failure, httpx.Response):
            after = failure.headers.get("Retry-After", "")
            if after.isdigit():
                delay = min(max(delay, float(after)), 30.0)
        time.sleep(delay)

    def _down(
        self,
        method: str,
        url: str | httpx.URL,
        failure: httpx.TransportError | httpx.Response,
        *,
        tries: int | None = None,
    ) -> NoReturn:
        what = (
            f"HTTP {failure.status_code}"
            if isinstance(failure, httpx.Response)
            else type(failure).__name__
        )
        path = httpx.URL(str(url)).path  # never the query: upload state stays out of messages
        raise NetworkError(
            f"OCI registry {self.repository} is unavailable: {method} {path} failed "
            f"{'once' if tries == 1 else f'{tries or self.retries + 1} times'} ({what})",
            hint=f"check that the registry at {self.host} is up and reachable from here",
            backend="oci",
            endpoint=self.host,
        )

    def _expect(self, response: httpx.Response, ok: tuple[int, ...], action: str) -> None:
        if response.status_code not in ok:
            self._refused(response, action)

    def _refused(self, response: httpx.Response, action: str) -> NoReturn:
        status = response.status_code
        detail = error_code(response) or f"HTTP {status}"
        where = f"OCI registry {self.repository}"
        if status in (401, 403):
            raise Unauthorized(
                f"{where} refused to {action} ({detail})",
                hint="give the backend credentials with push, pull and delete rights",
            )
        if status == 413:
            raise InvalidInput(
                f"{where} refused to {action}: too large ({detail})",
                hint="lower chunk_size or the backend's max_blob_size",
            )
        if status == 404:
            raise NotFound(f"{where} could not {action} ({detail})")
        raise ServiceError(f"{where} could not {action} ({detail})")
