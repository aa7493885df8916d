"""Transparency-log entries: what an entry's body is, and its ``TransparencyLogEntry`` JSON.

**Entry model: Rekor v1 ``dsse`` 0.0.1 with a signed entry timestamp (SET).** sigstore-python
4.5.1 accepts exactly two log entry kinds for DSSE bundles: ``dsse`` 0.0.1 (Rekor v1) and
``hashedrekord`` 0.0.2 (Rekor v2). A v2 entry carries no integrated time, so its bundle is
only verifiable with an RFC 3161 timestamp; a v1 entry's SET is the log's own signature over
(body, integrated time, log ID, index), a verified signing time without depending on a TSA.
docs/architecture.md §9 recommends v2; we depart from it so that the log stands on its own (a TSA
timestamp, when configured, is added next to it, not instead of it). The body is what Rekor
v1 stores: payload hash, envelope hash, and each signature with its verifier (the signing
certificate's PEM, or the public key's PEM for key-signed bundles), canonical JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from chainproof.core.dsse import Envelope
from chainproof.server.services.trust_keys import ServiceKey

__all__ = [
    "KIND",
    "VERSION",
    "b64",
    "canonical_json",
    "dsse_body",
    "entry_of",
    "signed_entry_timestamp",
]

KIND = "dsse"
VERSION = "0.0.1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def canonical_json(data: Any) -> bytes:
    """RFC 8785 JSON for the values logs use (ASCII strings, integers, objects, lists):
    sorted keys, no spaces, which is exactly what ``json.dumps`` gives for those."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def dsse_body(envelope: Envelope, verifier_pem: bytes) -> bytes:
    """The canonical Rekor ``dsse`` 0.0.1 body logging ``envelope`` signed by the holder of
    ``verifier_pem`` (a certificate or public key, PEM)."""
    return canonical_json(
        {
            "apiVersion": VERSION,
            "kind": KIND,
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(envelope.to_json().encode()).hexdigest(),
                },
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(envelope.payload).hexdigest(),
                },
                "signatures": [
                    {"signature": b64(s.sig), "verifier": b64(verifier_pem)}
                    for s in envelope.signatures
                ],
            },
        }
    )


def signed_entry_timestamp(key: ServiceKey, body: bytes, integrated_time: int, index: int) -> bytes:
    """The log's promise (Rekor's SET): its signature over the canonical JSON of the body,
    integrated time, log ID (hex) and index."""
    promise = canonical_json(
        {
            "body": b64(body),
            "integratedTime": integrated_time,
            "logID": key.key_id.hex(),
            "logIndex": index,
        }
    )
    return key.private_key.sign(promise, ec.ECDSA(hashes.SHA256()))


def entry_of(
    key: ServiceKey,
    *,
    index: int,
    body: bytes,
    integrated_time: int,
    tree_size: int,
    root_hash: bytes,
    hashes: Sequence[bytes],
    note: str,
) -> dict[str, Any]:
    """:func:`entry_json` from its inclusion proof and signed checkpoint ``note``; signs
    the entry's SET."""
    promise = signed_entry_timestamp(key, body, integrated_time, index)
    return {
        "logIndex": str(index),
        "logId": {"keyId": b64(key.key_id)},
        "kindVersion": {"kind": KIND, "version": VERSION},
        "integratedTime": str(integrated_time),
        "inclusionPromise": {"signedEntryTimestamp": b64(promise)},
        "inclusionProof": {
            "logIndex": str(index),
            "rootHash": b64(root_hash),
            "treeSize": str(tree_size),
            "hashes": [b64(h) for h in hashes],
            "checkpoint": {"envelope": note},
        },
        "canonicalizedBody": b64(body),
    }
