"""The layout `chainproof import chainloop` reads: bundles under bundles/ (or at the top),
blobs found by the SHA-256 of their bytes whatever their names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from chainproof.client.imports import find_blobs, find_bundles
from chainproof.errors import InvalidInput


def test_bundles_come_from_bundles_dir_when_there_is_one(tmp_path: Path) -> None:
    (tmp_path / "bundles").mkdir()
    (tmp_path / "bundles" / "b.json").write_text("{}")
    (tmp_path / "bundles" / "a.json").write_text("{}")
    (tmp_path / "top.json").write_text("{}")  # not a bundle of this layout
    assert [p.name for p in find_bundles(tmp_path)] == ["a.json", "b.json"]


def test_bundles_at_the_top_when_there_is_no_bundles_dir(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a bundle")
    assert [p.name for p in find_bundles(tmp_path)] == ["run.json"]


def test_no_bundle_or_no_directory_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no bundle"):
        find_bundles(tmp_path)
    with pytest.raises(InvalidInput, match="is not a directory"):
        find_bundles(tmp_path / "missing")


def test_blobs_are_found_by_their_bytes_whatever_their_names(tmp_path: Path) -> None:
    cas = tmp_path / "cas"
    (cas / "nested").mkdir(parents=True)
    (cas / "sha256:whatever").write_bytes(b"one")
    (cas / "nested" / "sbom.cdx.json").write_bytes(b"two")
    found = find_blobs(cas)
    assert found == {
        hashlib.sha256(b"one").hexdigest(): cas / "sha256:whatever",
        hashlib.sha256(b"two").hexdigest(): cas / "nested" / "sbom.cdx.json",
    }
    assert find_blobs(tmp_path / "absent") == {}
    assert find_blobs(None) == {}
