"""Archives of evidence are unpacked safely: no escapes, no links, no bombs."""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from chainproof.core.materials.archive import explode, is_archive
from chainproof.errors import MaterialError


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _tgz(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if symlink:
            link = tarfile.TarInfo(symlink)
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            tf.addfile(link)
    return path


def test_zip_and_tgz_unpack_sorted(tmp_path: Path) -> None:
    entries = {"b/two.json": b"2", "a.json": b"1", "dir/": b""}
    z = _zip(tmp_path / "x.zip", entries)
    t = _tgz(tmp_path / "x.tgz", {"b/two.json": b"2", "a.json": b"1"})
    for archive, out in ((z, tmp_path / "z"), (t, tmp_path / "t")):
        assert is_archive(archive)
        files = explode(archive, out)
        assert [f.relative_to(out).as_posix() for f in files] == ["a.json", "b/two.json"]
        assert files[1].read_bytes() == b"2"
    assert not is_archive(tmp_path / "z" / "a.json")


@pytest.mark.parametrize("name", ["../escape.json", "/abs.json", "a/../../b.json"])
def test_entries_that_escape_are_refused(tmp_path: Path, name: str) -> None:
    archive = _tgz(tmp_path / "evil.tgz", {name: b"x"})
    with pytest.raises(MaterialError, match="unsafe entry name"):
        explode(archive, tmp_path / "out")
    assert not (tmp_path / "escape.json").exists()


def test_links_are_refused(tmp_path: Path) -> None:
    archive = _tgz(tmp_path / "link.tgz", {"ok.json": b"1"}, symlink="passwd")
    with pytest.raises(MaterialError, match="not a regular file"):
        explode(archive, tmp_path / "out")


def test_limits_on_entries_and_bytes(tmp_path: Path) -> None:
    many = _zip(tmp_path / "many.zip", {f"{i}.json": b"{}" for i in range(5)})
    with pytest.raises(MaterialError, match="more than 4 entries"):
        explode(many, tmp_path / "a", max_entries=4)
    # A highly compressible member: the size is counted as written, not as declared.
    bomb = _zip(tmp_path / "bomb.zip", {"big.json": b"0" * 2_000_000})
    assert bomb.stat().st_size < 50_000
    with pytest.raises(MaterialError, match="more than 1000000 bytes"):
        explode(bomb, tmp_path / "b", max_bytes=1_000_000)


@pytest.mark.parametrize(
    "names",
    [
        ["a.cdx.json", "a.cdx.json/b.cdx.json"],
        ["a.cdx.json/b.cdx.json", "a.cdx.json"],
        ["a.cdx.json", "a.cdx.json"],
    ],
)
def test_a_path_used_twice_is_refused(tmp_path: Path, names: list[str]) -> None:
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name we want
        for name in names:
            zf.writestr(name, b"{}")
    with pytest.raises(MaterialError, match=r"a\.cdx\.json' (appears twice|is both a file and)"):
        explode(archive, tmp_path / "out")


def test_a_file_and_a_directory_of_one_name_in_a_tar_are_refused(tmp_path: Path) -> None:
    archive = _tgz(tmp_path / "x.tgz", {"a.cdx.json": b"{}", "a.cdx.json/b.cdx.json": b"{}"})
    with pytest.raises(MaterialError, match="is both a file and a directory"):
        explode(archive, tmp_path / "out")
