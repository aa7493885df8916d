"""Helpers shared by the plain-text report kinds (Sysinternals, dranzer, radamsa).

These tools write text, not JSON, often from Windows: UTF-16 with a byte-order mark
(Sysinternals tools redirected to a file), UTF-8, or the ANSI code page (dranzer). Decoding
follows the BOM and falls back to Windows-1252 rather than refusing a report over its encoding.
Archives of several reports are read entry by entry, within limits, without unpacking them.
"""

from __future__ import annotations

import codecs
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from chainproof.core.materials._common import read_head
from chainproof.core.materials.archive import is_archive, members
from chainproof.errors import MaterialError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes) -> str:
    """Text of a report: by its BOM, else UTF-8, else Windows-1252 (never fails)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def head_text(value: str, size: int = 16 * 1024) -> str | None:
    """The decoded first ``size`` bytes of the file ``value`` (None when unreadable or when it
    holds NUL bytes outside a UTF-16 BOM: a binary file). Never raises (used by ``accepts``)."""
    got = read_head(value, size)
    if got is None:
        return None
    head = got[0]
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in head:
        return None
    if utf16 and len(head) % 2:
        head = head[:-1]
    return decode(head)


def is_archive_file(path: Path) -> bool:
    """A zip or tar(.gz) file (read by content, not by name); a corrupt gzip stream is not."""
    try:
        return is_archive(path)
    except (EOFError, zlib.error):
        return False


_ARCHIVE_ERRORS = (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error)


def archive_texts(
    kind: str, path: Path, *, max_entries: int, max_bytes: int
) -> Iterator[tuple[str, bytes]]:
    """(entry name, bytes) of every regular file in the archive ``path``.

    MaterialError naming the limit when the archive holds more than ``max_entries`` files or
    more than ``max_bytes`` bytes once uncompressed (a bomb stops there), or is unreadable.
    """
    total = 0
    try:
        # closing(): a limit that stops the walk must close the archive too
        with closing(members(path)) as entries:
            for count, (name, stream) in enumerate(entries, start=1):
                if count > max_entries:
                    stream.close()  # an open zip entry keeps the archive's file open
                    raise MaterialError(
                        f"{kind}: {path.name} has more than {max_entries} entries",
                        hint="archive only the reports of one run",
                    )
                with stream:
                    data = stream.read(max_bytes - total + 1)
                total += len(data)
                if total > max_bytes:
                    raise MaterialError(
                        f"{kind}: {path.name} unpacks to more than {max_bytes} bytes",
                        hint="archive only the reports of one run",
                    )
                yield name, data
    except _ARCHIVE_ERRORS as err:
        raise MaterialError(f"{kind}: {path.name} is not a readable archive: {err}") from None


def count_entries(kind: str, path: Path, *, max_entries: int) -> int:
    """How many regular files the archive ``path`` holds, without reading them; MaterialError
    past ``max_entries`` or for an unreadable archive."""
    count = 0
    try:
        with closing(members(path)) as entries:
            for count, (_, stream) in enumerate(entries, start=1):
                stream.close()
                if count > max_entries:
                    raise MaterialError(f"{kind}: {path.name} has more than {max_entries} entries")
    except _ARCHIVE_ERRORS as err:
        raise MaterialError(f"{kind}: {path.name} is not a readable archive: {err}") from None
    return count


def _archive_magic(data: bytes) -> bool:
    return data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b")) or (
        data[257:262] == b"ustar"
    )


@contextmanager
def as_file(data: bytes) -> Iterator[Path | None]:
    """A temporary file holding ``data`` when it is an archive (the readers of archives take
    a path), else None: projecting a stored material works from its bytes alone."""
    if not _archive_magic(data):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="chainproof-material-") as tmp:
        path = Path(tmp) / "material"
        path.write_bytes(data)
        yield path
