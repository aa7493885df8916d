"""Archives of evidence (zip, tar, tar.gz): one material per document inside.

A CI job often gets its SBOMs or SARIF reports as one archive. ``explode`` unpacks it into a
directory the caller owns, refusing anything that would escape it (absolute paths, ``..``,
links, devices) and stopping at a number of entries and a number of bytes actually written, so
a zip bomb fails fast instead of filling the disk. Written with the standard library's
zipfile and tarfile, reading members as streams: no extractall.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Generator
from pathlib import Path, PurePosixPath
from typing import IO

from chainproof.errors import MaterialError

ARCHIVE_KINDS = frozenset({"SBOM_CYCLONEDX_JSON", "SBOM_CYCLONEDX_XML", "SBOM_SPDX_JSON", "SARIF"})
"""Kinds whose slot accepts an archive of documents (Chainloop's rule)."""
MAX_ENTRIES = 10_000
MAX_BYTES = 1024 * 1024 * 1024
_CHUNK = 1024 * 1024


def is_archive(path: Path) -> bool:
    """True for a zip file or a (possibly compressed) tar file."""
    try:
        return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)
    except OSError:
        return False


def explode(
    archive: Path, dest: Path, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
) -> list[Path]:
    """Unpack the regular files of ``archive`` under ``dest``, sorted by name.

    Raises MaterialError for unsafe member names, links, too many entries or too many bytes.
    """
    written = 0
    out: list[Path] = []
    taken: dict[PurePosixPath, str] = {}  # every file and directory path the entries use
    for count, (name, stream) in enumerate(_members(archive), start=1):
        if count > max_entries:
            raise MaterialError(f"{archive.name} has more than {max_entries} entries")
        relative = _safe_name(archive, name)
        _claim(archive, taken, relative)
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with stream, open(target, "wb") as fh:
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise MaterialError(
                        f"{archive.name} unpacks to more than {max_bytes} bytes",
                        hint="split the archive, or add its documents one by one",
                    )
                fh.write(chunk)
        out.append(target)
    return sorted(out)


def _claim(archive: Path, taken: dict[PurePosixPath, str], path: PurePosixPath) -> None:
    """Record ``path`` as a file and its parents as directories; MaterialError when an entry
    repeats a name or uses one both as a file and as a directory (``a.json`` and
    ``a.json/b.json``), which no directory can hold."""
    clash = taken.get(path)
    if clash is not None:
        what = "appears twice" if clash == "file" else "is both a file and a directory"
        raise MaterialError(
            f"{archive.name}: the entry {str(path)!r} {what} in the archive",
            hint="repack the archive so that each path is used once",
        )
    for parent in path.parents:
        if parent == PurePosixPath("."):
            continue
        if taken.get(parent) == "file":
            raise MaterialError(
                f"{archive.name}: the entry {str(parent)!r} is both a file and a directory "
                "in the archive",
                hint="repack the archive so that each path is used once",
            )
        taken[parent] = "directory"
    taken[path] = "file"


def _safe_name(archive: Path, name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise MaterialError(f"{archive.name}: unsafe entry name {name!r}")
    return path


def members(archive: Path) -> Generator[tuple[str, IO[bytes]], None, None]:
    """(name, stream) of each regular file of a zip or tar ``archive``, in archive order,
    without unpacking anything; MaterialError for links and unreadable archives."""
    return _members(archive)


def _members(archive: Path) -> Generator[tuple[str, IO[bytes]], None, None]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir() or info.filename.startswith("__MACOSX/"):
                    continue
                mode = (info.external_attr >> 16) & 0o170000
                if mode and mode != 0o100000:  # symlinks and other non-regular files
                    raise MaterialError(f"{archive.name}: {info.filename} is not a regular file")
                yield info.filename, zf.open(info)
        return
    try:
        with tarfile.open(archive) as tf:
            for member in tf:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise MaterialError(f"{archive.name}: {member.name} is not a regular file")
                stream = tf.extractfile(member)
                if stream is not None:
                    yield member.name, stream
    except tarfile.TarError as err:
        raise MaterialError(f"{archive.name} is not a readable archive: {err}") from None


__all__ = ["ARCHIVE_KINDS", "MAX_BYTES", "MAX_ENTRIES", "explode", "is_archive", "members"]
