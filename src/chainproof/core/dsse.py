"""DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md).

Only the data format and the pre-authentication encoding live here; signing is in
``chainproof.signing`` and verification in ``chainproof.signing.verifier``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainproof.errors import InvalidInput


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE pre-authentication encoding, the bytes that are actually signed.

    ``PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`` (protocol.md).
    """
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def b64decode(value: Any, what: str) -> bytes:
    """Standard (or URL-safe) base64 as DSSE and Sigstore JSON write it; InvalidInput if not."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a base64 string")
    try:
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64") from None


def b64encode(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Signature:
    """One DSSE signature; ``keyid`` is an optional, unauthenticated hint."""

    sig: bytes
    keyid: str = ""


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: a typed payload and its signatures."""

    payload: bytes
    payload_type: str
    signatures: tuple[Signature, ...] = ()

    def pae(self) -> bytes:
        """The bytes each signature covers."""
        return pae(self.payload_type, self.payload)

    def to_dict(self) -> dict[str, Any]:
        """The DSSE JSON form (base64 payload and signatures)."""
        return {
            "payload": b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": [
                {"sig": b64encode(s.sig), **({"keyid": s.keyid} if s.keyid else {})}
                for s in self.signatures
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        """Parse the DSSE JSON form; raise InvalidInput when it is malformed."""
        if not isinstance(data, Mapping):
            raise InvalidInput("a DSSE envelope must be a JSON object")
        payload_type = data.get("payloadType")
        if not isinstance(payload_type, str) or not payload_type:
            raise InvalidInput("the DSSE envelope has no payloadType")
        sigs = data.get("signatures")
        if not isinstance(sigs, list):
            raise InvalidInput("the DSSE envelope has no signatures list")
        signatures = []
        for i, s in enumerate(sigs):
            if not isinstance(s, Mapping):
                raise InvalidInput(f"DSSE signature {i} is not an object")
            keyid = s.get("keyid") or ""
            if not isinstance(keyid, str):
                raise InvalidInput(f"DSSE signature {i} has a non-string keyid")
            signatures.append(Signature(b64decode(s.get("sig"), f"DSSE signature {i}"), keyid))
        return cls(
            payload=b64decode(data.get("payload"), "the DSSE payload"),
            payload_type=payload_type,
            signatures=tuple(signatures),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Parse DSSE JSON text."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidInput(f"the DSSE envelope is not JSON: {err}") from None
        return cls.from_dict(data)
