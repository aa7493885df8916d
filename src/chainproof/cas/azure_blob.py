"""An Azure Blob Storage CAS backend (azure-storage-blob): ``<container>/<prefix>sha256/<hex>``.

Uploads follow :func:`chainproof.cas._chunked.put_chunked` (hashed while streaming, one Put Blob
for a blob that fits in one ``block_size`` block, else blocks staged while the rest is read and
committed only after the digest matched); this module supplies Azure's primitives:

- each request carries a transactional MD5 (``validate_content``), so the service rejects a
  block damaged in transit (Azure has no SHA-256 transfer checksum);
- Put Block List is what makes a staged blob exist. Staged blocks that are never committed are
  not a blob: they are invisible to reads and listings, and the service discards them (after a
  week, or at the next commit), so aborting an upload sends nothing. Block ids carry a random
  per-upload nonce so two uploads never mix blocks;
- Put Blob and Put Block List carry ``If-None-Match: *``: an existing blob is never replaced.
  The service answers 409 BlobAlreadyExists (or 412), which counts as "already stored" once
  the stored blob's size matches.

Reads stream the blob in ``read_chunk_size`` ranges and check the digest on the fly
(:func:`verified_download`). Transient failures (5xx, connection errors) are retried by the
SDK's exponential retry policy (bounded); what remains is translated once, in
:meth:`AzureBlobBackend._errors`, into chainproof's errors.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    BlobBlock,
    BlobClient,
    BlobServiceClient,
    ContentSettings,
    ExponentialRetry,
)

from chainproof.cas._chunked import AlreadyStored, check_part_count, normal_prefix, put_chunked
from chainproof.cas._stream import DEFAULT_MAX_BLOB_SIZE, probe, verified_download
from chainproof.cas.backend import check_algorithm
from chainproof.core.digest import Digest
from chainproof.errors import (
    ChainproofError,
    InvalidInput,
    NetworkError,
    NotFound,
    ServiceError,
    Unauthorized,
)

__all__ = ["AzureBlobBackend"]

_MiB = 1024 * 1024
DEFAULT_BLOCK_SIZE = 8 * _MiB
# The SDK's own download chunk. Its downloader holds about 11 copies of a chunk at the peak
# (measured with tracemalloc: 44 MiB at 4 MiB, 88 MiB at 8 MiB, whatever the blob's size).
DEFAULT_READ_CHUNK = 4 * _MiB
_MAX_BLOCK = 4000 * _MiB
_MAX_BLOCKS = 50_000
_OCTETS = ContentSettings(content_type="application/octet-stream")

AzureCredential = str | AzureNamedKeyCredential | AzureSasCredential | TokenCredential


class AzureBlobBackend:
    """Blobs as block blobs ``<prefix>sha256/<hex>`` in one Azure Storage container."""

    def __init__(
        self,
        container: str,
        *,
        account_url: str | None = None,
        connection_string: str | None = None,
        credential: AzureCredential | None = None,
        prefix: str = "",
        max_blob_size: int = DEFAULT_MAX_BLOB_SIZE,
        block_size: int = DEFAULT_BLOCK_SIZE,
        read_chunk_size: int = DEFAULT_READ_CHUNK,
        concurrency: int = 2,
        max_attempts: int = 4,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        check_exists_first: bool = True,
    ) -> None:
        """Configure the client from ``account_url`` (+ ``credential``) or ``connection_string``.

        No request is made (use :meth:`validate` to probe). ``credential`` is an account key,
        a SAS token or an azure-identity credential; ``prefix`` gets a trailing ``/`` when it
        lacks one. Raise InvalidInput on an impossible configuration.
        """
        if (account_url is None) == (connection_string is None):
            raise InvalidInput(
                "an Azure Blob backend needs exactly one of account_url and connection_string"
            )
        if not container:
            raise InvalidInput("an Azure Blob backend needs a container name")
        if not 1 <= block_size <= _MAX_BLOCK:
            raise InvalidInput(f"Azure block size must be 1..{_MAX_BLOCK} bytes, not {block_size}")
        check_part_count(max_blob_size, block_size, _MAX_BLOCKS, "block")
        self.container = container
        self.prefix = normal_prefix(prefix)
        self.max_blob_size = max_blob_size
        self.block_size = block_size
        self.concurrency = max(1, concurrency)
        self.check_exists_first = check_exists_first
        options: dict[str, Any] = {
            "retry_policy": _Backoff(retry_total=max(0, max_attempts - 1)),
            "connection_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "max_single_get_size": read_chunk_size,
            "max_chunk_get_size": read_chunk_size,
        }
        if connection_string is not None:
            self._service = BlobServiceClient.from_connection_string(
                connection_string, credential=credential, **options
            )
        else:
            assert account_url is not None
            self._service = BlobServiceClient(account_url, credential=credential, **options)
        self.account_url: str = self._service.url.rstrip("/")
        self._container = self._service.get_container_client(container)

    def __repr__(self) -> str:
        return (
            f"AzureBlobBackend(account_url={self.account_url!r}, "
            f"container={self.container!r}, prefix={self.prefix!r})"
        )

    @property
    def where(self) -> str:
        """The account and container, for messages (never credentials)."""
        return f"Azure Blob backend {self.account_url}/{self.container}/{self.prefix}"

    def name(self, digest: Digest) -> str:
        """The blob name of a digest (whether or not it exists)."""
        check_algorithm(digest)
        return f"{self.prefix}sha256/{digest.hex}"

    # -- Backend protocol ------------------------------------------------------------------

    def exists(self, digest: Digest) -> int | None:
        """The blob's size (Get Blob Properties), or None when it is not stored."""
        return self._stat(digest)

    def open(self, digest: Digest) -> Iterator[bytes]:
        """Stream the blob in ``read_chunk_size`` chunks, checking its digest; NotFound when absent.

        The first request is made here, so NotFound and NetworkError come from this call; a
        VerificationError comes from the iteration, after the last byte and before the last
        chunk is yielded: a consumer that sees it must discard what it has received.
        """
        with self._errors("reading", digest):
            stream = self._blob(digest).download_blob()
        return verified_download(
            digest,
            self._read(stream.chunks(), digest),
            where=self.where,
            expected_size=stream.size,
        )

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Stream ``chunks`` into the container under ``digest`` and return the size.

        ``size``, when known, is checked against ``max_blob_size`` before anything is sent
        (InvalidInput). Raise VerificationError, with nothing visible, when the bytes do not
        hash to ``digest``; NetworkError when the service cannot be reached.
        """
        return put_chunked(
            self,
            digest,
            chunks,
            size=size,
            part_size=self.block_size,
            max_blob_size=self.max_blob_size,
            concurrency=self.concurrency,
            check_exists_first=self.check_exists_first,
        )

    def delete(self, digest: Digest) -> None:
        """Delete the blob (and any snapshots); no error when it is absent."""
        blob = self._blob(digest)
        with contextlib.suppress(NotFound), self._errors("deleting", digest):
            blob.delete_blob(delete_snapshots="include")

    def close(self) -> None:
        """Close the client's connection pool."""
        self._service.close()

    def validate(self) -> None:
        """Write, read back and delete a probe blob; raise the error that stopped it."""
        probe(self, self.where)

    # -- the primitives put_chunked drives (ChunkedStore) -----------------------------------

    def write_whole(self, digest: Digest, data: bytes) -> None:
        """Put Blob with ``If-None-Match: *`` and a transactional MD5."""
        with self._errors("uploading", digest):
            self._blob(digest).upload_blob(
                data,
                length=len(data),
                overwrite=False,  # sends If-None-Match: *
                content_settings=_OCTETS,
                validate_content="md5",
            )

    def begin_upload(self, digest: Digest) -> _Upload:
        """No request: blocks are staged against the blob's name under a fresh nonce."""
        return _Upload(digest, self._blob(digest), uuid.uuid4().hex)

    def upload_part(self, upload: _Upload, number: int, data: bytes) -> str:
        """Put Block; returns the block id (same length for every upload, never shared)."""
        block_id = f"{upload.nonce}-{number:06d}"
        with self._errors("staging a block of", upload.digest):
            upload.blob.stage_block(block_id, data, length=len(data), validate_content="md5")
        return block_id

    def commit_upload(self, upload: _Upload, parts: list[str]) -> None:
        """Put Block List with ``If-None-Match: *``."""
        with self._errors("committing", upload.digest):
            upload.blob.commit_block_list(
                [BlobBlock(block_id) for block_id in parts],
                content_settings=_OCTETS,
                match_condition=MatchConditions.IfMissing,  # If-None-Match: *
            )

    def abort_upload(self, upload: _Upload) -> None:
        """Nothing to send: the service discards blocks that are never committed."""

    # -- reads and helpers -----------------------------------------------------------------

    def _blob(self, digest: Digest) -> BlobClient:
        return self._container.get_blob_client(self.name(digest))

    def _read(self, chunks: Iterator[bytes], digest: Digest) -> Iterator[bytes]:
        with self._errors("reading", digest):
            yield from chunks

    def _stat(self, digest: Digest) -> int | None:
        try:
            with self._errors("checking", digest):
                props = self._blob(digest).get_blob_properties()
        except NotFound:
            return None
        return int(props.size)

    @contextlib.contextmanager
    def _errors(self, action: str, digest: Digest) -> Iterator[None]:
        """Translate azure-core's exceptions into chainproof's, once (docs/contributing.md §4)."""
        try:
            yield
        except ChainproofError:
            raise
        except (ResourceExistsError, ResourceModifiedError) as err:
            if err.status_code == 412 or _code(err) == "BlobAlreadyExists":
                raise AlreadyStored(action) from err
            raise self._response_error(err, action, digest) from err
        except ResourceNotFoundError as err:
            if _code(err) == "ContainerNotFound":
                raise ServiceError(
                    f"{self.where}: container {self.container!r} does not exist "
                    f"({action} {digest})",
                    hint="create the container or fix the backend's container name",
                ) from err
            raise NotFound(f"blob {digest} not found") from err
        except ClientAuthenticationError as err:
            raise Unauthorized(
                f"{self.where} refused access ({_code(err) or err.status_code}) "
                f"while {action} {digest}",
                hint="check the backend's account key, SAS token or role assignment",
            ) from err
        except HttpResponseError as err:
            if _code(err) == "InvalidBlockList":
                # A concurrent upload committed first, which discards our staged blocks; the
                # blob is there if its size is right (put_chunked checks).
                raise AlreadyStored(action) from err
            raise self._response_error(err, action, digest) from err
        except (ServiceRequestError, ServiceResponseError) as err:
            raise NetworkError(
                f"cannot reach {self.where} while {action} {digest} ({type(err).__name__})",
                hint="check that the endpoint is up and reachable; transient failures "
                "were already retried",
            ) from err
        except AzureError as err:
            raise ServiceError(f"{self.where} failed while {action} {digest}: {err}") from err

    def _response_error(self, err: HttpResponseError, action: str, digest: Digest) -> Exception:
        status = err.status_code or 0
        code = _code(err) or str(status)
        if status in (401, 403):
            return Unauthorized(
                f"{self.where} refused access ({code}) while {action} {digest}",
                hint="check the backend's account key, SAS token or role assignment",
            )
        if status >= 500:
            return NetworkError(
                f"{self.where} failed ({code}) while {action} {digest}; retries exhausted",
                hint="the service is unavailable or throttling; try again later",
            )
        return ServiceError(f"{self.where} answered {code} while {action} {digest}")


class _Backoff(ExponentialRetry):
    """The SDK's retry rules with shorter waits: 0.25-0.5 s doubling per retry, up to 8 s.

    ExponentialRetry's own formula (``initial_backoff + increment_base**n``, whole seconds)
    waits 15, 18 and 24 s by default, and at least 3 s even with the smallest settings.
    """

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        retry = max(0, int(settings["count"]) - 1)
        jitter = random.uniform(0.5, 1.0)  # noqa: S311 - spreads retries, not a secret
        return float(min(8.0, 0.5 * 2**retry) * jitter)


@dataclass(frozen=True)
class _Upload:
    digest: Digest
    blob: BlobClient
    nonce: str


def _code(err: HttpResponseError) -> str:
    return str(getattr(err, "error_code", None) or "")
