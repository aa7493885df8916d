"""Content-addressable storage: the ``Backend`` protocol, its implementations, the CAS app.

Every blob is keyed by :class:`chainproof.core.digest.Digest` (sha256). Backends verify the
digest while writing and make nothing visible on a mismatch.
"""

from chainproof.cas.backend import Backend
from chainproof.cas.fs import FilesystemBackend
from chainproof.cas.memory import InMemoryBackend

__all__ = ["Backend", "FilesystemBackend", "InMemoryBackend"]
