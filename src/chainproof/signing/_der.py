"""A minimal DER encoder (X.690) for the structures chainproof's timestamp authority writes.

Hand-written on purpose: no installed library builds CMS SignedData with an eContentType
other than id-data (cryptography's PKCS7 builder signs id-data only; rfc3161-client only
parses and verifies). Only the handful of universal types a TimeStampResp needs are here;
every function returns one complete TLV. Private to ``chainproof.signing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

# Universal tags (X.690 §8; constructed types have bit 6 set).
_BOOLEAN = 0x01
_INTEGER = 0x02
_OCTET_STRING = 0x04
_OID = 0x06
_GENERALIZED_TIME = 0x18
_SEQUENCE = 0x30
_SET = 0x31


def _length(n: int) -> bytes:
    """The definite length octets (X.690 §8.1.3): short form below 128, else long form."""
    if n < 0x80:
        return bytes([n])
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(size)]) + size


def tlv(tag: int, content: bytes) -> bytes:
    """One TLV with a single-octet ``tag``."""
    return bytes([tag]) + _length(len(content)) + content


def integer(value: int) -> bytes:
    """INTEGER: minimal two's complement (X.690 §8.3)."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(_INTEGER, value.to_bytes(size, "big", signed=True))


def boolean(value: bool) -> bytes:
    """BOOLEAN: DER writes TRUE as 0xFF (X.690 §11.1)."""
    return tlv(_BOOLEAN, b"\xff" if value else b"\x00")


def octet_string(value: bytes) -> bytes:
    """OCTET STRING."""
    return tlv(_OCTET_STRING, value)


def oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER from its dotted form (X.690 §8.19)."""
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"not an object identifier: {dotted}")
    out = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(_OID, bytes(out))


def generalized_time(moment: datetime) -> bytes:
    """GeneralizedTime in UTC to the second, ``YYYYMMDDHHMMSSZ`` (DER: no fraction when
    it would be zero; chainproof never writes one)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return tlv(_GENERALIZED_TIME, moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode())


def sequence(*items: bytes) -> bytes:
    """SEQUENCE of already-encoded items, in order."""
    return tlv(_SEQUENCE, b"".join(items))


def set_of(items: Iterable[bytes], *, tag: int = _SET) -> bytes:
    """SET OF: DER sorts the encoded elements (X.690 §11.6). ``tag`` replaces the SET tag
    for an IMPLICIT context tag such as CMS's ``[0] IMPLICIT SET OF``."""
    return tlv(tag, b"".join(sorted(items)))


def explicit(number: int, inner: bytes) -> bytes:
    """``[number] EXPLICIT``: a constructed context tag wrapping one TLV."""
    return tlv(0xA0 | number, inner)


def implicit(number: int, inner: bytes, *, constructed: bool) -> bytes:
    """``[number] IMPLICIT``: ``inner``'s TLV with its tag replaced by the context tag."""
    tag = (0xA0 if constructed else 0x80) | number
    return bytes([tag]) + inner[1:]
