"""RFC 6962 inclusion proofs, against the RFC's own recursive definitions."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainproof.core.merkle import (
    appended_inclusion_proofs,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root_from_inclusion_proof,
    verify_inclusion,
)
from chainproof.errors import VerificationError


def _split(n: int) -> int:
    """The largest power of two smaller than n (RFC 6962 §2.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash, recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n]): the audit path of leaf m, leaf side first."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


LEAVES = [f"entry {i}".encode() for i in range(40)]


def test_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", range(1, 41))
def test_every_leaf_of_every_tree_size_verifies(size: int) -> None:
    leaves = LEAVES[:size]
    root = mth(leaves)
    for index in range(size):
        verify_inclusion(index, size, leaf_hash(leaves[index]), path(index, leaves), root)


@given(st.integers(2, 40), st.data())
def test_any_changed_hash_is_detected(size: int, data: st.DataObject) -> None:
    leaves = LEAVES[:size]
    index = data.draw(st.integers(0, size - 1))
    proof = path(index, leaves)
    at = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    bad = bytearray(proof[at])
    bad[bit // 8] ^= 1 << (bit % 8)
    proof[at] = bytes(bad)
    with pytest.raises(VerificationError, match="inclusion proof check failed"):
        verify_inclusion(index, size, leaf_hash(leaves[index]), proof, mth(leaves))


def test_truncated_and_padded_proofs_are_refused() -> None:
    leaves = LEAVES[:13]
    proof = path(5, leaves)
    with pytest.raises(VerificationError, match=r"too few.*truncated"):
        root_from_inclusion_proof(5, 13, leaf_hash(leaves[5]), proof[:-1])
    with pytest.raises(VerificationError, match="more hashes"):
        root_from_inclusion_proof(5, 13, leaf_hash(leaves[5]), [*proof, proof[0]])


def test_wrong_index_or_leaf_or_size_is_refused() -> None:
    leaves = LEAVES[:9]
    root = mth(leaves)
    proof = path(3, leaves)
    with pytest.raises(VerificationError, match="leads to root"):
        verify_inclusion(4, 9, leaf_hash(leaves[3]), proof, root)
    with pytest.raises(VerificationError, match="leads to root"):
        verify_inclusion(3, 9, leaf_hash(b"forged"), proof, root)
    with pytest.raises(VerificationError, match="outside a tree"):
        verify_inclusion(9, 9, leaf_hash(leaves[3]), proof, root)
    with pytest.raises(VerificationError, match="outside a tree"):
        verify_inclusion(0, 0, leaf_hash(leaves[0]), [], root)
    with pytest.raises(VerificationError, match="32 bytes"):
        verify_inclusion(3, 9, leaf_hash(leaves[3]), [b"short", *proof[1:]], root)


def test_single_leaf_tree_has_an_empty_proof() -> None:
    verify_inclusion(0, 1, leaf_hash(b"only"), [], leaf_hash(b"only"))


@given(st.integers(0, 40), st.integers(1, 24))
def test_a_batch_proves_its_leaves_from_the_old_frontier(start: int, count: int) -> None:
    """What a log appending ``count`` leaves at ``start`` computes in memory (the frontier
    of the first ``start`` leaves and the new leaf hashes) is RFC 6962's PATH."""
    leaves = [f"leaf {i}".encode() for i in range(start + count)]
    frontier = [
        mth(leaves[index << level : (index + 1) << level])
        for level, index in perfect_subtrees(0, start)
    ]
    new = [leaf_hash(b) for b in leaves[start:]]
    proofs = appended_inclusion_proofs(start, frontier, new)
    assert proofs == [path(start + i, leaves) for i in range(count)]
