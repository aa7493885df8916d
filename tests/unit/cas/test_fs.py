"""What only the filesystem backend does: its layout, and no temporary file left behind.

The Backend contract itself (fs and memory among the others) is
tests/integration/cas/test_backend_contract.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.cas.fs import FilesystemBackend
from chainproof.core.digest import Digest
from chainproof.errors import VerificationError

DATA = b"chainproof evidence\n" * 5000


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_fs_layout(tmp_path: Path) -> None:
    fs = FilesystemBackend(tmp_path)
    digest = Digest.of_bytes(DATA)
    fs.put(digest, [DATA])
    assert _files(tmp_path) == [tmp_path / "sha256" / digest.hex[:2] / digest.hex]
    assert (tmp_path / "sha256" / digest.hex[:2] / digest.hex).read_bytes() == DATA


def test_fs_refused_upload_leaves_no_temporary_file(tmp_path: Path) -> None:
    fs = FilesystemBackend(tmp_path)

    def broken() -> Iterator[bytes]:
        yield DATA
        raise OSError("connection reset")

    with pytest.raises(VerificationError):
        fs.put(Digest.of_bytes(b"the claimed bytes"), [DATA])
    with pytest.raises(VerificationError):
        fs.put(Digest.of_bytes(DATA), [DATA], size=len(DATA) + 1)
    with pytest.raises(OSError, match="reset"):
        fs.put(Digest.of_bytes(DATA), broken())
    assert _files(tmp_path) == []
