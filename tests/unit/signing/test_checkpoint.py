"""C2SP signed-note checkpoints: the log's signature found by key hash, cosignatures ignored."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from tests.tlog_helpers import TestLog

from chainproof.errors import VerificationError
from chainproof.signing.checkpoint import Checkpoint, verify_checkpoint
from chainproof.signing.trust import LogKey, Validity

ROOT = hashlib.sha256(b"root").digest()


def _key(log: TestLog) -> LogKey:
    public = serialization.load_der_public_key(log.spki)
    return LogKey(log.log_id, public, f"https://{log.origin}", Validity(None))  # type: ignore[arg-type]


@pytest.mark.parametrize("ed25519_key", [False, True])
def test_log_signature_verifies(ed25519_key: bool) -> None:
    log = TestLog(ed25519_key=ed25519_key)
    assert verify_checkpoint(log.checkpoint(7, ROOT), _key(log)) == Checkpoint("log.test", 7, ROOT)


def test_cosignatures_are_ignored_and_order_does_not_matter() -> None:
    log, witness = TestLog(), TestLog("witness.test", ed25519_key=True)
    note = log.checkpoint(7, ROOT)
    text, block = note.split("\n\n")
    witness_line = witness.checkpoint(7, ROOT).split("\n\n")[1]
    assert verify_checkpoint(f"{text}\n\n{witness_line}{block}", _key(log)).tree_size == 7


def test_extension_lines_are_kept() -> None:
    log = TestLog()
    text = f"log.test\n3\n{base64.b64encode(ROOT).decode()}\nTimestamp: 1\n"
    sig = log.log_id[:4] + log._sign(text.encode())
    note = f"{text}\n\u2014 log.test {base64.b64encode(sig).decode()}\n"
    assert verify_checkpoint(note, _key(log)).extensions == ("Timestamp: 1",)


def test_another_logs_checkpoint_is_refused() -> None:
    with pytest.raises(VerificationError, match="no signature by the log"):
        verify_checkpoint(TestLog("other").checkpoint(7, ROOT), _key(TestLog()))


def test_edited_note_is_refused() -> None:
    log = TestLog()
    note = log.checkpoint(7, ROOT).replace("\n7\n", "\n8\n")
    with pytest.raises(VerificationError, match="does not verify"):
        verify_checkpoint(note, _key(log))


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("log.test\n7\n", "one blank line"),
        ("log.test\n7\nAAAA\n\n", "no signature"),
        ("log.test\n7\nAAAA\n\n\u2014 log.test QUJDREVG", "end with a newline"),
        ("log.test\n7\nAAAA\n\nnot a signature line\n", "malformed signature line"),
        ("log.test\n7\nAAAA\n\n\u2014 log.test !!!\n", "not base64"),
        ("log.test\n7\nAAAA\n\n\u2014 log.test QUJD\n", "too short"),
        ("log.test\n7\n\n\u2014 log.test QUJDREVG\n", "origin, a tree size"),
        ("\n7\nAAAA\n\n\u2014 log.test QUJDREVG\n", "no origin"),
        ("log.test\n07\nAAAA\n\n\u2014 log.test QUJDREVG\n", "not a decimal"),
        ("log.test\n7\n!!!!\n\n\u2014 log.test QUJDREVG\n", "root hash is not base64"),
        ("log.test\n7\nAAAA\n\n\u2014 log.test QUJDREVG\n", "not 32 bytes"),
    ],
)
def test_malformed_notes_are_refused(note: str, reason: str) -> None:
    with pytest.raises(VerificationError, match=f"checkpoint check failed: .*{reason}"):
        verify_checkpoint(note, _key(TestLog()))
