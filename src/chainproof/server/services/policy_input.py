"""What the control plane's policy evaluations may use, and the material content they read.

:class:`Limits` (one per server, from the ``policy_*`` settings) bounds them: the Rego worker
pool (how many evaluations run at once, each with its time limit and its worker's memory
limit, :mod:`chainproof.policy.pool`), the largest material content evaluated, and how many
materials are loaded and evaluated at once (as many as there are workers: each holds its
content, parsed and serialised, while its policies run: about 14 times its size).

:class:`Content` reads a material's bytes (a CAS blob, or the statement's embedded bytes)
into a scratch file chunk by chunk, stopping at the limit: content above it is never held in
memory, and its policies fail with a message naming the limit.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.core.digest import Digest
from chainproof.core.statement import MaterialDescriptor
from chainproof.errors import InvalidInput

if TYPE_CHECKING:
    from chainproof.policy import RegoEngine

__all__ = ["DEFAULT_MAX_INPUT_BYTES", "BlobReader", "Content", "Limits", "default_limits"]

BlobReader = Callable[[str | None, Digest], Iterable[bytes]]
"""``(CAS backend id or None for the embedded store, digest)`` → the blob's bytes."""

_OPAQUE = ("CONTAINER_IMAGE", "STRING", "HELM_CHART")  # policies read their metadata only
DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024
"""Largest material content evaluated by default (the ``policy_max_input_bytes`` setting)."""


class Limits:
    """The bounds of the control plane's evaluations.

    ``workers`` Rego worker processes (0: :func:`~chainproof.policy.pool.default_workers`),
    each evaluation stopped after ``timeout`` seconds or when its worker's resident memory
    passes ``memory_mb`` MiB (0: no limit); material content above ``max_input_bytes`` is not
    evaluated; ``slots`` lets ``workers`` materials be loaded and evaluated at once. The
    engine starts its workers on first use; :meth:`close` stops them.
    """

    def __init__(
        self,
        *,
        workers: int = 0,
        timeout: float = 10.0,
        memory_mb: int = 2048,
        max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    ) -> None:
        from chainproof.policy.pool import default_workers

        self.workers = workers if workers > 0 else default_workers()
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_input_bytes = max_input_bytes
        self.slots = threading.BoundedSemaphore(self.workers)
        self._engine: RegoEngine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> RegoEngine:
        """The engine evaluations run on (a pool of ``workers`` processes)."""
        from chainproof.policy import RegoEngine

        with self._lock:
            if self._engine is None:
                self._engine = RegoEngine(
                    timeout=self.timeout, workers=self.workers, memory_mb=self.memory_mb
                )
            return self._engine

    def close(self) -> None:
        """Stop the engine's worker processes (a later evaluation starts new ones)."""
        with self._lock:
            if self._engine is not None:
                self._engine.close()


_DEFAULT: Limits | None = None
_DEFAULT_LOCK = threading.Lock()


def default_limits() -> Limits:
    """The defaults, one engine for the process: for callers that pass no limits."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Limits()
        return _DEFAULT


class Content:
    """Material content for policies: the blob from the CAS or the statement's bytes,
    written once to a scratch file (policies read files, and a blob may be large).

    Without a ``scratch`` directory, one is made on the first file and removed when the
    ``with`` block ends: most pushes have no content for policies to read, and making and
    removing a directory each time was a twentieth of a push's time."""

    def __init__(
        self,
        scratch: Path | None,
        read_blob: BlobReader | None,
        backends: Mapping[str, str | None],
        max_bytes: int,
    ) -> None:
        self._scratch = scratch
        self._made: Path | None = None
        self.read_blob = read_blob
        self.backends = backends
        self.max_bytes = max_bytes
        self._paths: dict[str, Path] = {}

    def material(self, item: MaterialDescriptor) -> tuple[Any, Path | None]:
        """The material as a handler made it, and its content's scratch file (None: the
        control plane has no bytes for it, or policies read only its metadata)."""
        from chainproof.core.materials.base import CraftedMaterial

        name, kind, digest = item.name, item.kind, item.digest
        if digest.algorithm != "sha256":
            raise InvalidInput("a material of the statement has no sha256 digest")
        value: str | None = None
        path: Path | None = None
        if item.content is not None:
            if Digest.of_bytes(item.content) != digest:
                raise InvalidInput(
                    f"material {name}: its embedded content does not match its digest"
                )
            if kind == "STRING":
                value = item.content.decode("utf-8", errors="replace")
            else:
                path = self._write(str(digest), [item.content])
        elif item.in_cas and kind not in _OPAQUE:
            if self.read_blob is None:
                raise InvalidInput(f"material {name}: the CAS is not reachable from here")
            if item.size is not None and item.size > self.max_bytes:
                raise self._too_large()  # as signed: the blob is not even opened
            blob = self.read_blob(self.backends.get(str(digest)), digest)
            path = self._write(str(digest), blob)
        material = CraftedMaterial(
            name=name,
            kind=kind,
            digest=digest,
            size=path.stat().st_size if path else 0,
            filename=item.filename,
            value=value,
            annotations=dict(item.annotations),
        )
        return material, path

    def __enter__(self) -> Content:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)
            self._made = None

    @property
    def scratch(self) -> Path:
        """The directory of the scratch files (made on first use when none was given)."""
        if self._scratch is None:
            self._made = self._scratch = Path(tempfile.mkdtemp(prefix="chainproof-policy-"))
        return self._scratch

    def _write(self, key: str, chunks: Iterable[bytes]) -> Path:
        """The content in a scratch file, read chunk by chunk: reading stops at the limit."""
        cached = self._paths.get(key)
        if cached is not None:
            return cached
        path = self.scratch / f"{len(self._paths)}.blob"
        size, limit = 0, self.max_bytes
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise self._too_large()
                out.write(chunk)
        self._paths[key] = path
        return path

    def _too_large(self) -> InvalidInput:
        limit = self.max_bytes
        return InvalidInput(
            f"its content is larger than {limit} bytes ({limit / 1048576:g} MiB), "
            "the control plane's policy input limit",
            hint="the server's policy_max_input_bytes setting raises it",
        )
