"""DSSE v1 envelopes: the data format and the pre-authentication encoding (PAE).

Spec: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md (signing and PAE)
and envelope.md (the JSON form). Signing lives in ``chainproof.signing.signer`` and
verification in ``chainproof.signing.verifier``; this module only parses and serialises.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainproof.core import jsonload
from chainproof.errors import InvalidInput

__all__ = ["Envelope", "Signature", "b64decode", "b64encode", "pae"]

_B64 = re.compile(r"^[A-Za-z0-9+/\-_]*={0,2}$")


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE pre-authentication encoding: the exact bytes a signature covers.

    DSSE protocol.md, "Signature definition"::

        PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body) + SP + body

    where ``LEN`` is the byte length as ASCII decimal without leading zeros, and ``type`` is
    UTF-8 encoded.
    """
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def b64decode(value: Any, what: str) -> bytes:
    """Decode base64 as DSSE and Sigstore JSON write it; raise InvalidInput if it is not.

    DSSE envelope.md: "Base64() is Base64 encoding, transforming a byte sequence to a unicode
    string. Either standard or URL-safe encoding is allowed." Padding is optional here.
    Characters outside the alphabet are refused (not silently skipped), except line breaks,
    which Go's decoder (and so protobuf JSON from Sigstore's Go tools) ignores.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a base64 string, not {type(value).__name__}")
    try:
        # The usual form, standard and padded, in one pass; validate=True refuses any
        # character outside that alphabet and any data after the padding.
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        pass  # URL-safe, unpadded, wrapped, or not base64: the careful path decides
    if "\n" in value or "\r" in value:
        value = value.replace("\r", "").replace("\n", "")
    if not _B64.match(value):
        raise InvalidInput(f"{what} is not valid base64")
    standard = value.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64") from None


def b64encode(data: bytes) -> str:
    """Standard, padded base64 text (what chainproof writes)."""
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Signature:
    """One DSSE signature. ``keyid`` is an optional, unauthenticated hint (protocol.md)."""

    sig: bytes
    keyid: str = ""


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: a typed payload and its signatures.

    ``signatures`` is a tuple so that envelopes stay immutable and hashable. Build one from
    JSON with :meth:`from_json` / :meth:`from_dict`, which raise InvalidInput when malformed.
    """

    payload: bytes
    payload_type: str
    signatures: tuple[Signature, ...] = ()

    def __post_init__(self) -> None:
        # Accept any sequence (e.g. a list) but store a tuple.
        object.__setattr__(self, "signatures", tuple(self.signatures))

    def pae(self) -> bytes:
        """The bytes each signature covers (see :func:`pae`)."""
        return pae(self.payload_type, self.payload)

    def to_dict(self) -> dict[str, Any]:
        """The DSSE JSON form (envelope.md), base64 standard encoding.

        ``keyid`` is always written (``""`` when unset): DSSE makes it optional, but some
        readers (securesystemslib) require the key to be present.
        """
        return {
            "payload": b64encode(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"sig": b64encode(s.sig), "keyid": s.keyid} for s in self.signatures],
        }

    def to_json(self) -> str:
        """Stable JSON text of :meth:`to_dict` (sorted keys, no spaces)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        """Parse the DSSE JSON form; raise InvalidInput naming the first malformed field."""
        if not isinstance(data, Mapping):
            raise InvalidInput("a DSSE envelope must be a JSON object")
        payload_type = data.get("payloadType")
        if not isinstance(payload_type, str) or not payload_type:
            raise InvalidInput("the DSSE envelope has no payloadType")
        if "payload" not in data:
            raise InvalidInput("the DSSE envelope has no payload")
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
        """Parse DSSE JSON text; InvalidInput if it is not JSON or not an envelope."""
        try:
            data = jsonload.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidInput(f"the DSSE envelope is not JSON: {err}") from None
        return cls.from_dict(data)
