"""An S3-compatible CAS backend (boto3): ``s3://<bucket>/<prefix>sha256/<hex>``.

Uploads follow :func:`chainproof.cas._chunked.put_chunked` (hashed while streaming, one
``PutObject`` for a blob that fits in one ``part_size`` part, else a multipart upload completed
only after the digest matched and aborted otherwise); this module supplies S3's primitives:

- every request carries a SHA-256 checksum (``ChecksumSHA256``: of the whole object for
  ``PutObject``, of each part for ``UploadPart``), so S3 rejects bytes damaged in transit;
- ``PutObject`` and ``CompleteMultipartUpload`` carry ``If-None-Match: *``: an object already
  under the key is never replaced. S3 answers 412 Precondition Failed then, which counts as
  "already stored" once the stored object's size matches.

Reads stream ``GetObject`` and check the digest on the fly (:func:`verified_download`).
Transient failures (5xx, throttling, connection errors) are retried by botocore's
``standard`` retry mode (bounded attempts, exponential backoff with jitter); what remains is
translated once, in :meth:`S3Backend._errors`, into chainproof's errors.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    FlexibleChecksumError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

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
    VerificationError,
)

__all__ = ["S3Backend", "S3Credentials"]

_MiB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * _MiB
_MIN_PART = 5 * _MiB  # S3's floor for every part but the last
_MAX_PART = 5 * 1024 * _MiB
_MAX_PARTS = 10_000
_READ_CHUNK = 1 * _MiB
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
)
_TRANSIENT = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})


@dataclass(frozen=True)
class S3Credentials:
    """An access key pair (and session token); None in S3Backend means boto3's default chain."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"S3Credentials(access_key_id={self.access_key_id!r}, secret_access_key=***)"


@dataclass(frozen=True)
class _Upload:
    digest: Digest
    key: str
    upload_id: str


@dataclass(frozen=True)
class _Part:
    number: int
    etag: str
    checksum: str


class S3Backend:
    """Blobs as objects ``<prefix>sha256/<hex>`` in one bucket of an S3-compatible service."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        credentials: S3Credentials | None = None,
        max_blob_size: int = DEFAULT_MAX_BLOB_SIZE,
        part_size: int = DEFAULT_PART_SIZE,
        concurrency: int = 2,
        max_attempts: int = 4,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        check_exists_first: bool = True,
    ) -> None:
        """Configure the client; no request is made (use :meth:`validate` to probe).

        ``prefix`` gets a trailing ``/`` when it lacks one. ``check_exists_first`` sends a
        HEAD before each upload so a stored blob is not sent again (its bytes are still read
        and checked against the digest). Raise InvalidInput on an impossible configuration.
        """
        if not bucket:
            raise InvalidInput("an S3 backend needs a bucket name")
        if not _MIN_PART <= part_size <= _MAX_PART:
            raise InvalidInput(
                f"S3 part size must be between {_MIN_PART} and {_MAX_PART} bytes, not {part_size}"
            )
        check_part_count(max_blob_size, part_size, _MAX_PARTS, "part")
        self.bucket = bucket
        self.prefix = normal_prefix(prefix)
        self.endpoint_url = endpoint_url
        self.max_blob_size = max_blob_size
        self.part_size = part_size
        self.concurrency = max(1, concurrency)
        self.check_exists_first = check_exists_first
        config = Config(
            retries={"mode": "standard", "max_attempts": max(1, max_attempts)},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(10, self.concurrency + 2),
        )
        session_args: dict[str, Any] = {"region_name": region or "us-east-1"}
        if credentials is not None:
            session_args.update(
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            )
        session = boto3.session.Session(**session_args)
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)

    def __repr__(self) -> str:
        return (
            f"S3Backend(bucket={self.bucket!r}, prefix={self.prefix!r}, "
            f"endpoint_url={self.endpoint_url!r})"
        )

    @property
    def where(self) -> str:
        """The bucket and endpoint, for messages (never credentials)."""
        endpoint = self.endpoint_url or "AWS"
        return f"S3 backend s3://{self.bucket}/{self.prefix} at {endpoint}"

    def key(self, digest: Digest) -> str:
        """The object key of a blob (whether or not it exists)."""
        check_algorithm(digest)
        return f"{self.prefix}sha256/{digest.hex}"

    # -- Backend protocol ------------------------------------------------------------------

    def exists(self, digest: Digest) -> int | None:
        """The blob's size (HEAD), or None when it is not stored."""
        return self._stat(digest)

    def open(self, digest: Digest) -> Iterator[bytes]:
        """Stream the blob in 1 MiB chunks, checking its digest; NotFound when absent.

        The request is made here, so NotFound and NetworkError come from this call; a
        VerificationError comes from the iteration, after the last byte and before the last
        chunk is yielded: a consumer that sees it must discard what it has received.
        """
        key = self.key(digest)
        with self._errors("reading", digest):
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        body = answer["Body"]
        return verified_download(
            digest,
            self._read(body, digest),
            where=self.where,
            expected_size=int(answer["ContentLength"]),
            close=body.close,
        )

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Stream ``chunks`` into the bucket under ``digest`` and return the size.

        ``size``, when known, is checked against ``max_blob_size`` before anything is sent
        (InvalidInput). Raise VerificationError, with nothing stored, when the bytes do not hash
        to ``digest``; NetworkError when S3 cannot be reached.
        """
        return put_chunked(
            self,
            digest,
            chunks,
            size=size,
            part_size=self.part_size,
            max_blob_size=self.max_blob_size,
            concurrency=self.concurrency,
            check_exists_first=self.check_exists_first,
        )

    def delete(self, digest: Digest) -> None:
        """Remove the object; no error when it is absent."""
        key = self.key(digest)
        with self._errors("deleting", digest):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()

    def validate(self) -> None:
        """Write, read back and delete a probe blob; raise the error that stopped it."""
        probe(self, self.where)

    # -- the primitives put_chunked drives (ChunkedStore) -----------------------------------

    def write_whole(self, digest: Digest, data: bytes) -> None:
        """PutObject with the blob's SHA-256 and ``If-None-Match: *``."""
        checksum = base64.b64encode(bytes.fromhex(digest.hex)).decode()
        with self._errors("uploading", digest):
            self._client.put_object(
                Bucket=self.bucket,
                Key=self.key(digest),
                Body=data,
                ContentLength=len(data),
                ContentType="application/octet-stream",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
                IfNoneMatch="*",
            )

    def begin_upload(self, digest: Digest) -> _Upload:
        """CreateMultipartUpload, with SHA-256 part checksums."""
        key = self.key(digest)
        with self._errors("starting an upload of", digest):
            upload_id: str = self._client.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType="application/octet-stream",
                ChecksumAlgorithm="SHA256",
            )["UploadId"]
        return _Upload(digest, key, upload_id)

    def upload_part(self, upload: _Upload, number: int, data: bytes) -> _Part:
        """UploadPart with the part's SHA-256."""
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        with self._errors(f"uploading part {number} of", upload.digest):
            answer = self._client.upload_part(
                Bucket=self.bucket,
                Key=upload.key,
                UploadId=upload.upload_id,
                PartNumber=number,
                Body=data,
                ContentLength=len(data),
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
        return _Part(number, str(answer["ETag"]), checksum)

    def commit_upload(self, upload: _Upload, parts: list[_Part]) -> None:
        """CompleteMultipartUpload with ``If-None-Match: *``."""
        listing = {
            "Parts": [
                {"PartNumber": p.number, "ETag": p.etag, "ChecksumSHA256": p.checksum}
                for p in parts
            ]
        }
        for attempt in itertools.count():
            try:
                with self._errors("completing the upload of", upload.digest):
                    self._client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=upload.key,
                        UploadId=upload.upload_id,
                        MultipartUpload=listing,
                        IfNoneMatch="*",
                    )
                return
            except _Contended:
                # S3 answers 409 ConditionalRequestConflict while another conditional write to
                # the key is in progress; its documentation says to retry.
                if attempt == 3:
                    raise
                time.sleep(0.2 * 2**attempt)

    def abort_upload(self, upload: _Upload) -> None:
        """AbortMultipartUpload; errors are ignored (S3's lifecycle rules clean up the rest)."""
        with contextlib.suppress(Exception):
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload.key, UploadId=upload.upload_id
            )

    # -- reads and helpers -----------------------------------------------------------------

    def _read(self, body: Any, digest: Digest) -> Iterator[bytes]:
        with self._errors("reading", digest):
            yield from body.iter_chunks(_READ_CHUNK)

    def _stat(self, digest: Digest) -> int | None:
        try:
            with self._errors("checking", digest):
                answer = self._client.head_object(Bucket=self.bucket, Key=self.key(digest))
        except NotFound:
            return None
        return int(answer["ContentLength"])

    @contextlib.contextmanager
    def _errors(self, action: str, digest: Digest | None) -> Iterator[None]:
        """Translate botocore's exceptions into chainproof's, once (docs/contributing.md §4)."""
        what = f" {digest}" if digest is not None else ""
        try:
            yield
        except ChainproofError:
            raise
        except ClientError as err:
            raise self._client_error(err, f"{action}{what}", digest) from err
        except (BotoConnectionError, HTTPClientError) as err:
            raise NetworkError(
                f"cannot reach {self.where} while {action}{what} ({type(err).__name__})",
                hint="check that the endpoint is up and reachable; transient failures "
                "were already retried",
            ) from err
        except (NoCredentialsError, PartialCredentialsError) as err:
            raise Unauthorized(
                f"no usable credentials for {self.where}",
                hint="configure the backend's access key or an AWS credential source",
            ) from err
        except FlexibleChecksumError as err:
            raise VerificationError(
                f"{self.where} sent bytes that fail their S3 checksum while {action}{what}",
                hint="discard what was read and retry",
            ) from err
        except BotoCoreError as err:
            raise ServiceError(f"{self.where} failed while {action}{what}: {err}") from err

    def _client_error(self, err: ClientError, doing: str, digest: Digest | None) -> Exception:
        error = err.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code == "PreconditionFailed" or status == 412:
            return AlreadyStored(doing)
        if code == "ConditionalRequestConflict":
            return _Contended(doing)
        if code == "NoSuchBucket":
            return ServiceError(
                f"{self.where}: bucket {self.bucket!r} does not exist ({doing})",
                hint="create the bucket or fix the backend's bucket name",
            )
        if code in _NOT_FOUND or status == 404:
            return NotFound(f"blob {digest} not found" if digest else f"not found ({doing})")
        if code in _DENIED or status in (401, 403):
            return Unauthorized(
                f"{self.where} refused access ({code or status}) while {doing}",
                hint="check the backend's credentials and the bucket policy",
            )
        if code in _TRANSIENT or status >= 500:
            return NetworkError(
                f"{self.where} failed ({code or status}) while {doing}; retries exhausted",
                hint="the service is unavailable or throttling; try again later",
            )
        return ServiceError(f"{self.where} answered {code or status} while {doing}")


class _Contended(Exception):
    """Internal: S3 refused a conditional write racing another one (409)."""
