"""Signed checkpoints of transparency logs (C2SP signed-note and tlog-checkpoint).

A checkpoint is a note whose text is ``origin\\ntree size\\nbase64(root hash)\\n`` plus
optional extension lines (https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md),
followed by a blank line and one signature line per signer, ``— name base64(keyhash ||
signature)`` (https://github.com/C2SP/C2SP/blob/main/signed-note.md). The signature covers
the note text up to and including its last newline.

The log's own signature is found by its 4-byte key hash, which Sigstore's trusted root gives
as the first four bytes of the log ID (both for Rekor v1's ECDSA keys and Rekor v2's Ed25519
keys); witnesses' cosignatures (other hashes) are ignored. Every signature line carrying the
log's key hash must verify (as golang.org/x/mod/sumdb/note does for known keys).
:func:`sign_checkpoint` writes such a note for chainproof's own log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chainproof.errors import VerificationError
from chainproof.signing._keys import verify_signature
from chainproof.signing.trust import LogKey

__all__ = ["Checkpoint", "sign_checkpoint", "verify_checkpoint"]

_CHECK = "checkpoint check failed"
_SIGNATURE_LINE = re.compile(r"^\u2014 (\S+) (\S+)$")
MAX_CHECKPOINT_BYTES = 64 * 1024


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint's content: origin, tree size, root hash and extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def _fail(reason: str) -> VerificationError:
    return VerificationError(f"{_CHECK}: {reason}")


def _split(envelope: str) -> tuple[str, list[tuple[str, bytes]]]:
    if len(envelope) > MAX_CHECKPOINT_BYTES:
        raise _fail("the checkpoint is too large")
    if envelope.count("\n\n") != 1:
        raise _fail("the note must have exactly one blank line before its signatures")
    text, _, block = envelope.partition("\n\n")
    text += "\n"
    if not block:
        raise _fail("the note carries no signature")
    if not block.endswith("\n"):
        raise _fail("the signature block must end with a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        match = _SIGNATURE_LINE.match(line)
        if match is None:
            raise _fail(f"malformed signature line {line[:60]!r}")
        try:
            raw = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise _fail("a signature is not base64") from None
        if len(raw) < 5:
            raise _fail("a signature is too short")
        signatures.append((match.group(1), raw))
    if not signatures:
        raise _fail("the note carries no signature")
    return text, signatures


def _parse(text: str) -> Checkpoint:
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise _fail("the checkpoint needs an origin, a tree size and a root hash")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin:
        raise _fail("the checkpoint has no origin")
    if not size.isdigit() or (len(size) > 1 and size[0] == "0"):
        raise _fail(f"the checkpoint's tree size {size[:30]!r} is not a decimal number")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("the checkpoint's root hash is not base64") from None
    if len(root_hash) != 32:
        raise _fail("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(lines[3:]))


def verify_checkpoint(envelope: str, log: LogKey) -> Checkpoint:
    """Verify a signed checkpoint with ``log``'s key and return its content.

    Raises VerificationError ("checkpoint check failed: ...") when the note is malformed,
    carries no signature by the log, or a signature with the log's key hash does not verify.
    The caller compares the tree size and root hash with its inclusion proof.
    """
    text, signatures = _split(envelope)
    checkpoint = _parse(text)
    hint = log.key_id[:4]
    mine = [raw[4:] for _, raw in signatures if raw[:4] == hint]
    if not mine:
        raise _fail(f"no signature by the log (key hash {hint.hex()}) on the checkpoint")
    for sig in mine:
        if not verify_signature(log.key, sig, text.encode("utf-8")):
            raise _fail("the log's signature on the checkpoint does not verify")
    return checkpoint


def sign_checkpoint(
    origin: str, tree_size: int, root_hash: bytes, key: ec.EllipticCurvePrivateKey
) -> str:
    """A C2SP signed note over the tree head, signed by ``key`` (ECDSA SHA-256).

    The signature line names ``origin`` and starts with the first four bytes of the key's
    log ID (SHA-256 of its SubjectPublicKeyInfo), as Sigstore's verifiers look it up.
    Raises ValueError for an origin with whitespace or a root that is not 32 bytes.
    """
    if not origin or any(c.isspace() for c in origin) or "+" in origin:
        raise ValueError(f"a checkpoint origin has no spaces or '+': {origin!r}")
    if len(root_hash) != 32:
        raise ValueError("a checkpoint root hash is 32 bytes")
    text = f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signature = key.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    line = base64.b64encode(hashlib.sha256(spki).digest()[:4] + signature).decode()
    return f"{text}\n\u2014 {origin} {line}\n"
