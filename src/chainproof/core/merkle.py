"""RFC 6962 Merkle tree hashing and inclusion-proof verification.

Transparency logs (Rekor v1 and v2, and chainproof's own log) are RFC 6962 Merkle trees over
SHA-256. This module computes leaf and node hashes (RFC 6962 §2.1) and checks an audit path
(RFC 6962 §2.1.1) with the verification algorithm of RFC 9162 §2.1.3.2, which RFC 6962
left implicit, and a consistency proof (RFC 6962 §2.1.2) with RFC 9162 §2.1.4.2. Pure
functions, no I/O; the caller compares the computed root with a root it trusts (a signed
checkpoint).

For a log that builds proofs, :func:`inclusion_ranges` and :func:`consistency_ranges` say
which subtrees ``[start, end)`` a proof is made of, and :func:`perfect_subtrees` splits any
such subtree into the aligned power-of-two subtrees a log stores, so a stored log answers
every proof from O(log n) stored hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from chainproof.errors import VerificationError

__all__ = [
    "HASH_SIZE",
    "appended_inclusion_proofs",
    "consistency_ranges",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"  # RFC 6962 §2.1: MTH({d(0)}) = SHA-256(0x00 || d(0))
_NODE_PREFIX = b"\x01"  # RFC 6962 §2.1: MTH(D[n]) = SHA-256(0x01 || MTH(left) || MTH(right))


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_inclusion_proof(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root hash an audit path leads to, for the leaf hash ``leaf`` at ``index``.

    RFC 9162 §2.1.3.2. Raises VerificationError naming the inclusion-proof check when the
    index is outside the tree, a hash is not 32 bytes, or the path has the wrong length for
    this index and tree size (a truncated or padded proof).
    """
    if tree_size < 1 or not 0 <= index < tree_size:
        raise VerificationError(
            f"inclusion proof check failed: leaf index {index} is outside a tree of size "
            f"{tree_size}"
        )
    if len(leaf) != HASH_SIZE or any(len(h) != HASH_SIZE for h in proof):
        raise VerificationError("inclusion proof check failed: a hash is not 32 bytes")
    fn, sn = index, tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise VerificationError(
                "inclusion proof check failed: the proof has more hashes than the tree is deep"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"inclusion proof check failed: {len(proof)} hashes are too few for leaf "
            f"{index} of a tree of size {tree_size} (truncated proof)"
        )
    return r


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is at ``index`` in the tree whose root is ``root``.

    Raises VerificationError ("inclusion proof check failed: ...") when it is not.
    """
    computed = root_from_inclusion_proof(index, tree_size, leaf, proof)
    if computed != root:
        raise VerificationError(
            f"inclusion proof check failed: the proof leads to root {computed.hex()}, "
            f"not the logged root {root.hex()}"
        )


# -- building proofs --------------------------------------------------------------------
def _split(n: int) -> int:
    """RFC 6962's k: the largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The subtrees ``[start, end)`` whose hashes are PATH(index, D[tree_size]), in proof
    order (the leaf's sibling first), RFC 6962 §2.1.1."""
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf {index} is outside a tree of size {tree_size}")
    top_down = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            top_down.append((lo + k, hi))
            hi = lo + k
        else:
            top_down.append((lo, lo + k))
            lo += k
    return top_down[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The subtrees ``[start, end)`` whose hashes are PROOF(first, D[second]), in proof
    order, RFC 6962 §2.1.2 (``0 < first <= second``; equal sizes need no hashes)."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    tail = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            tail.append((lo + k, hi))
            hi = lo + k
        else:
            tail.append((lo, lo + k))
            lo += k
            m -= k
            whole = False
    head = [] if whole else [(lo, hi)]
    return head + tail[::-1]


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` as aligned perfect subtrees ``(level, index)`` (leaves ``index *
    2**level`` to ``(index + 1) * 2**level``), left to right.

    For the subtrees of RFC 6962 proofs, the Merkle hash of ``[start, end)`` is the right
    fold of these with :func:`node_hash`.
    """
    out = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def appended_inclusion_proofs(
    start: int, frontier: Sequence[bytes], leaves: Sequence[bytes]
) -> list[list[bytes]]:
    """The audit path of each leaf hash in ``leaves``, appended at ``start``, in the tree of
    ``start + len(leaves)`` leaves, computed in memory.

    ``frontier`` holds the hashes of :func:`perfect_subtrees` ``(0, start)``: every left
    sibling wholly before ``start`` on a new leaf's path is one of them (its parent reaches
    past ``start``, so it is a maximal aligned subtree there), and everything else on the
    path is made of the new leaves. A log appending a batch thus proves each of its entries
    without reading a stored hash.
    """
    size = start + len(leaves)
    known = dict(zip(perfect_subtrees(0, start), frontier, strict=True))
    memo: dict[tuple[int, int], bytes] = {}

    def block(level: int, index: int) -> bytes:
        lo = index << level
        if lo + (1 << level) <= start:
            return known[(level, index)]
        if level == 0:
            return leaves[lo - start]
        if (level, index) not in memo:
            left, right = block(level - 1, 2 * index), block(level - 1, 2 * index + 1)
            memo[(level, index)] = node_hash(left, right)
        return memo[(level, index)]

    def subtree(lo: int, hi: int) -> bytes:
        hashes = [block(level, index) for level, index in perfect_subtrees(lo, hi)]
        root = hashes[-1]
        for left in reversed(hashes[:-1]):
            root = node_hash(left, root)
        return root

    return [
        [subtree(lo, hi) for lo, hi in inclusion_ranges(start + i, size)]
        for i in range(len(leaves))
    ]


# -- consistency ------------------------------------------------------------------------
def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of size ``second`` with root ``second_root`` extends the tree of
    size ``first`` with root ``first_root`` (RFC 9162 §2.1.4.2).

    Raises VerificationError ("consistency proof check failed: ...") when it does not, or
    the proof is truncated, padded or malformed.
    """
    check = "consistency proof check failed"
    if not 0 < first <= second:
        raise VerificationError(f"{check}: no proof from size {first} to size {second}")
    if any(len(h) != HASH_SIZE for h in (first_root, second_root, *proof)):
        raise VerificationError(f"{check}: a hash is not 32 bytes")
    if first == second:
        if proof or first_root != second_root:
            raise VerificationError(f"{check}: equal sizes need equal roots and no hashes")
        return
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, first_root)
    if not path:
        raise VerificationError(f"{check}: the proof is empty")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(f"{check}: the proof has too many hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"{check}: the proof has too few hashes (truncated)")
    if fr != first_root:
        raise VerificationError(f"{check}: the proof does not lead to the old root")
    if sr != second_root:
        raise VerificationError(f"{check}: the proof does not lead to the new root")
