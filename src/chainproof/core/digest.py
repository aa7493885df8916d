"""Content digests: the one key type of the CAS, the database and the API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from chainproof.errors import InvalidInput

_HEX = {"sha256": 64, "sha1": 40, "sha512": 128}
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Digest:
    """An algorithm and a lowercase hex value; ``str()`` is ``alg:hex``."""

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        size = _HEX.get(self.algorithm)
        if size is None or len(self.hex) != size or not re.fullmatch(r"[0-9a-f]+", self.hex):
            raise InvalidInput(
                f"not a valid {self.algorithm} digest: {self.hex!r}",
                hint="digests look like sha256:<64 lowercase hex characters>",
            )

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``sha256:<hex>``; raise InvalidInput if it is anything else."""
        alg, sep, value = text.strip().partition(":")
        if not sep:
            raise InvalidInput(
                f"not a digest: {text!r}", hint="write it as sha256:<64 hex characters>"
            )
        return cls(alg.lower(), value.lower())

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        """SHA-256 of ``data``."""
        return cls("sha256", hashlib.sha256(data).hexdigest())

    @classmethod
    def of_chunks(cls, chunks: Iterable[bytes]) -> tuple[Digest, int]:
        """SHA-256 and total size of a stream of chunks."""
        h = hashlib.sha256()
        size = 0
        for chunk in chunks:
            h.update(chunk)
            size += len(chunk)
        return cls("sha256", h.hexdigest()), size

    @classmethod
    def of_file(cls, path: Path | str) -> tuple[Digest, int]:
        """SHA-256 and size of a file, read in 1 MiB chunks."""
        with open(path, "rb") as fh:
            return cls.of_stream(fh)

    @classmethod
    def of_stream(cls, stream: BinaryIO) -> tuple[Digest, int]:
        """SHA-256 and size of what remains in a binary stream."""
        return cls.of_chunks(iter(lambda: stream.read(_CHUNK), b""))
