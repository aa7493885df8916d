"""A tiny transparency log for tests: RFC 6962 reference hashing, signed checkpoints, entries.

It builds what a Rekor v1 log puts in a bundle (a ``dsse`` 0.0.1 entry with an inclusion
proof, a signed checkpoint and a signed entry timestamp) so that the verifier can be tested
on chainproof's own bundles before the control plane has its log. The Merkle functions are
RFC 6962 §2.1's recursive definitions (MTH, PATH, PROOF), independent of
``chainproof.core.merkle`` and of the server's stored tree.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from chainproof.core.bundle import Bundle


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash."""
    if len(leaves) == 1:
        return _leaf(leaves[0])
    k = _split(len(leaves))
    return _node(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n])."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*audit_path(m, leaves[:k]), mth(leaves[k:])]
    return [*audit_path(m - k, leaves[k:]), mth(leaves[:k])]


def consistency_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TestLog:
    """An append-only log with an ECDSA P-256 (Rekor v1 style) or Ed25519 key."""

    __test__ = False  # not a pytest class

    def __init__(self, origin: str = "log.test", *, ed25519_key: bool = False) -> None:
        self.origin = origin
        self.key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
            ed25519.Ed25519PrivateKey.generate()
            if ed25519_key
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.log_id = hashlib.sha256(self.spki).digest()
        self.leaves: list[bytes] = [f"earlier entry {i}".encode() for i in range(5)]

    def _sign(self, data: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def trusted_root_entry(self, start: str = "2020-01-01T00:00:00Z") -> dict[str, Any]:
        """This log as a ``tlogs`` item of a trusted root."""
        details = (
            "PKIX_ED25519"
            if isinstance(self.key, ed25519.Ed25519PrivateKey)
            else "PKIX_ECDSA_P256_SHA_256"
        )
        return {
            "baseUrl": f"https://{self.origin}",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(self.spki),
                "keyDetails": details,
                "validFor": {"start": start},
            },
            "logId": {"keyId": b64(self.log_id)},
        }

    def checkpoint(self, size: int, root: bytes) -> str:
        """A C2SP signed note over this tree head."""
        text = f"{self.origin}\n{size}\n{b64(root)}\n"
        sig = self.log_id[:4] + self._sign(text.encode())
        return f"{text}\n\u2014 {self.origin} {b64(sig)}\n"

    def append_dsse(self, bundle: Bundle, *, integrated_time: datetime | None = None) -> Bundle:
        """Log ``bundle``'s envelope as a ``dsse`` 0.0.1 entry; return the bundle with it."""
        envelope = bundle.envelope
        cert = bundle.leaf_certificate_der
        assert cert is not None
        from cryptography import x509

        pem = x509.load_der_x509_certificate(cert).public_bytes(serialization.Encoding.PEM)
        body = json.dumps(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
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
                        {"signature": b64(s.sig), "verifier": b64(pem)} for s in envelope.signatures
                    ],
                },
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        index = len(self.leaves)
        self.leaves.append(body)
        self.leaves.append(b"a later entry")
        size = len(self.leaves)
        root = mth(self.leaves)
        when = int((integrated_time or datetime.now(UTC)).timestamp())
        promise = json.dumps(
            {
                "body": b64(body),
                "integratedTime": when,
                "logID": self.log_id.hex(),
                "logIndex": index,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        entry = {
            "logIndex": str(index),
            "logId": {"keyId": b64(self.log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(when),
            "inclusionPromise": {"signedEntryTimestamp": b64(self._sign(promise))},
            "inclusionProof": {
                "logIndex": str(index),
                "rootHash": b64(root),
                "treeSize": str(size),
                "hashes": [b64(h) for h in audit_path(index, self.leaves)],
                "checkpoint": {"envelope": self.checkpoint(size, root)},
            },
            "canonicalizedBody": b64(body),
        }
        data = bundle.to_dict()
        data["verificationMaterial"]["tlogEntries"] = [entry]
        return Bundle.from_json(data)
