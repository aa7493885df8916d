"""RFC 3161 timestamps in Sigstore bundles, checked against the trusted root's TSAs.

Each ``rfc3161Timestamps`` item is a DER TimeStampResponse whose message imprint covers the
bundle's signature bytes (the DSSE signature, or the message signature). rfc3161-client
checks the response's CMS signature and the TSA certificate chain; this module picks the
timestamp authorities of the trusted root and checks that the time falls inside the
authority's validity window (inclusive) and the TSA certificate's validity.

rfc3161-client's ``Verifier`` re-derives, on every response, what depends only on the
authority (the chain's DER, the leaf's extended key usage), and costs about as much again
in Python as its CMS verification in Rust. :func:`_check_response` keeps its checks, in its
order, but does the per-authority ones once (:func:`_prepared`) and hands the token to the
same Rust core, ``pkcs7_verify``. That core is not public API, so the public ``Verifier``
remains the fallback should a release move it; the TSA unit tests and the conformance
vectors check that both give the same verdicts.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from chainproof.errors import VerificationError
from chainproof.signing.trust import Authority, TrustedRoot

__all__ = ["MAX_TIMESTAMPS", "verify_timestamps"]

_CHECK = "timestamp check failed"
# sigstore-go and sigstore-python refuse more than 32 timestamps (a denial-of-service bound).
MAX_TIMESTAMPS = 32
_GRANTED = 0
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "2.16.840.1.101.3.4.2.1": hashlib.sha256,
    "2.16.840.1.101.3.4.2.2": hashlib.sha384,
    "2.16.840.1.101.3.4.2.3": hashlib.sha512,
}


@functools.cache
def _rust_pkcs7_verify() -> Callable[[bytes, datetime, list[bytes]], None] | None:
    try:
        from rfc3161_client._rust import verify
    except ImportError:
        return None
    return getattr(verify, "pkcs7_verify", None)


@dataclass(frozen=True)
class _Prepared:
    """What a timestamp authority contributes to every check, computed once."""

    leaf: x509.Certificate
    leaf_der: bytes
    chain_der: list[bytes]
    time_stamping: bool  # the leaf has the critical EKU id-kp-timeStamping (RFC 3161 §2.3)


@functools.lru_cache(maxsize=256)
def _prepared(authority: Authority) -> _Prepared:
    leaf = authority.chain[0]
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        time_stamping = eku.critical and ExtendedKeyUsageOID.TIME_STAMPING in eku.value
    except x509.ExtensionNotFound:
        time_stamping = False
    # rfc3161-client trusts the TSA certificate, the roots and the intermediates alike.
    chain_der = list(dict.fromkeys(c.public_bytes(Encoding.DER) for c in authority.chain))
    return _Prepared(leaf, chain_der[0], chain_der, time_stamping)


def _token(der: bytes) -> bytes:
    """The TimeStampToken TLV of a DER TimeStampResp (``SEQUENCE { status, token }``),
    as ``TimeStampResponse.time_stamp_token()`` re-encodes it, without the re-encoding."""

    def span(at: int) -> tuple[int, int]:  # (content start, end) of the TLV at ``at``
        size, start = der[at + 1], at + 2
        if size & 0x80:
            count = size & 0x7F
            size, start = int.from_bytes(der[start : start + count], "big"), start + count
        return start, start + size

    inside, _ = span(0)
    _, status_end = span(inside)
    _, token_end = span(status_end)
    return der[status_end:token_end]


def _check_response(
    prepared: _Prepared,
    response: Any,
    der: bytes,
    message: bytes,
    pkcs7_verify: Callable[[bytes, datetime, list[bytes]], None],
) -> datetime | None:
    """rfc3161-client's ``Verifier.verify_message`` checks, per-authority parts
    precomputed; the signer must be the authority's own certificate. None if any fails."""
    if response.status != _GRANTED or not prepared.time_stamping:
        return None
    info = response.tst_info
    imprint = info.message_imprint
    hasher = _HASHES.get(imprint.hash_algorithm.dotted_string)
    if hasher is None or imprint.message != hasher(message).digest():
        return None
    signed = response.signed_data
    signers = signed.signer_infos
    if len(signers) != 1:
        return None
    signer = next(iter(signers))
    leaf = prepared.leaf
    if signer.serial_number != leaf.serial_number or signer.issuer != leaf.issuer:
        return None
    embedded = signed.certificates
    if embedded and prepared.leaf_der not in embedded:
        return None  # the signer's certificate in the token is not the authority's
    moment: datetime = info.gen_time
    try:
        # The certificates need only be valid when the timestamp was made.
        pkcs7_verify(_token(der), moment, prepared.chain_der)
    except (ValueError, IndexError):
        return None
    return moment


def _check_with_library(authority: Authority, response: Any, message: bytes) -> datetime | None:
    from rfc3161_client import VerificationError as TsaError
    from rfc3161_client import VerifierBuilder

    chain = authority.chain
    builder = VerifierBuilder().tsa_certificate(chain[0]).add_root_certificate(chain[-1])
    for intermediate in chain[1:-1]:
        builder = builder.add_intermediate_certificate(intermediate)
    try:
        builder.build().verify_message(response, message)
    except (TsaError, ValueError):
        return None
    moment: datetime = response.tst_info.gen_time
    return moment


def _verify_with(
    authority: Authority, response: Any, der: bytes, message: bytes, *, fast: bool = True
) -> datetime | None:
    pkcs7_verify = _rust_pkcs7_verify() if fast else None
    if pkcs7_verify is not None:
        moment = _check_response(_prepared(authority), response, der, message, pkcs7_verify)
    else:
        moment = _check_with_library(authority, response, message)
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    leaf = authority.chain[0]
    if not leaf.not_valid_before_utc <= moment <= leaf.not_valid_after_utc:
        return None
    return moment


def verify_timestamps(
    encoded: Sequence[bytes], message: bytes, root: TrustedRoot, *, fast: bool = True
) -> list[datetime]:
    """The times vouched for by ``encoded`` (DER responses) over ``message``.

    Every timestamp must verify with some timestamp authority of ``root`` at a time inside
    that authority's validity window; a bundle carrying a timestamp that does not is
    refused. ``fast=False`` checks with rfc3161-client's public ``Verifier`` (the reference
    the fast path is tested against). Raises VerificationError ("timestamp check failed: ...").
    """
    if len(encoded) > MAX_TIMESTAMPS:
        raise VerificationError(f"{_CHECK}: more than {MAX_TIMESTAMPS} timestamps")
    if len(set(encoded)) != len(encoded):
        raise VerificationError(f"{_CHECK}: the bundle repeats a timestamp")
    if encoded and not root.timestamp_authorities:
        raise VerificationError(
            f"{_CHECK}: the bundle carries RFC 3161 timestamps but the trusted root lists no "
            "timestamp authority"
        )
    from rfc3161_client import decode_timestamp_response

    times = []
    for i, der in enumerate(encoded):
        try:
            response = decode_timestamp_response(der)
        except ValueError:
            raise VerificationError(
                f"{_CHECK}: timestamp {i} is not an RFC 3161 response"
            ) from None
        found = None
        outside = None
        for authority in root.timestamp_authorities:
            moment = _verify_with(authority, response, der, message, fast=fast)
            if moment is None:
                continue
            if authority.validity.contains(moment):
                found = moment
                break
            outside = authority
        if found is None:
            if outside is not None:
                raise VerificationError(
                    f"{_CHECK}: timestamp {i} was made outside the validity of its authority "
                    f"{outside.uri} ({outside.validity.describe()})"
                )
            raise VerificationError(
                f"{_CHECK}: timestamp {i} is not a valid timestamp over the signature by a "
                "timestamp authority of the trusted root"
            )
        times.append(found)
    return times
