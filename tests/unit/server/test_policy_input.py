"""Material content for the control plane's policies is read with a cap: a material whose
signed size is above the input limit is not opened, and a blob is read only up to it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainproof.core.digest import Digest
from chainproof.core.statement import MaterialDescriptor
from chainproof.errors import InvalidInput
from chainproof.server.services.policy_input import Content

KIB = 1024


def _item(size: int | None) -> MaterialDescriptor:
    digest = Digest("sha256", hashlib.sha256(b"x").hexdigest())
    return MaterialDescriptor(
        name="sbom", kind="SBOM_CYCLONEDX_JSON", digest=digest, size=size, in_cas=True
    )


def test_a_blob_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    read: list[int] = []

    def endless(_backend: str | None, _digest: Digest) -> Iterator[bytes]:
        while True:  # a blob far larger than the limit
            read.append(KIB)
            yield b" " * KIB

    content = Content(tmp_path, endless, {}, 64 * KIB)
    with pytest.raises(InvalidInput, match=r"larger than 65536 bytes \(0\.0625 MiB\)") as err:
        content.material(_item(None))
    assert "policy_max_input_bytes" in (err.value.hint or "")
    assert sum(read) == 65 * KIB  # it stopped at the first chunk past the limit


def test_a_material_signed_as_larger_than_the_limit_is_not_opened(tmp_path: Path) -> None:
    opened: list[Digest] = []

    def blob(_backend: str | None, digest: Digest) -> Iterator[bytes]:
        opened.append(digest)
        yield b"{}"

    content = Content(tmp_path, blob, {}, 64 * KIB)
    with pytest.raises(InvalidInput, match="policy input limit"):
        content.material(_item(10 * 1024 * KIB))
    assert opened == []
    material, path = content.material(_item(2))  # within the limit: read
    assert path is not None and path.read_bytes() == b"{}" and material.size == 2


def test_a_scratch_directory_is_made_only_for_content_and_removed_after() -> None:
    def blob(_backend: str | None, _digest: Digest) -> Iterator[bytes]:
        yield b"{}"

    with Content(None, blob, {}, 64 * KIB) as idle:
        pass
    assert idle._made is None  # nothing read: no directory was made

    with Content(None, blob, {}, 64 * KIB) as content:
        _, path = content.material(_item(2))
        assert path is not None and path.read_bytes() == b"{}"
        made = path.parent
    assert not made.exists()
