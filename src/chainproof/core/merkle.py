"""RFC 6962 Merkle tree hashing and inclusion-proof verification.

Transparency logs (Rekor v1 and v2, and chainproof's own log) are RFC 6962 Merkle trees over
SHA-256. This module computes leaf and node hashes (RFC 6962 §2.1) and checks an audit path
(RFC 6962 §2.1.1) with the verification algorithm of RFC 9162 §2.1.3.2, which RFC 6962
left implicit. Pure functions, no I/O; the caller compares the computed root with a root
it trusts (a signed checkpoint).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from chainproof.errors import VerificationError

__all__ = ["HASH_SIZE", "leaf_hash", "node_hash", "root_from_inclusion_proof", "verify_inclusion"]

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
