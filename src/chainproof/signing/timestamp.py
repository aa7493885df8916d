"""RFC 3161 timestamps in Sigstore bundles, checked against the trusted root's TSAs.

Each ``rfc3161Timestamps`` item is a DER TimeStampResponse whose message imprint covers the
bundle's signature bytes (the DSSE signature, or the message signature). rfc3161-client
checks the response's CMS signature and the TSA certificate chain; this module picks the
timestamp authorities of the trusted root and checks that the time falls inside the
authority's validity window (inclusive) and the TSA certificate's validity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from chainproof.errors import VerificationError
from chainproof.signing.trust import Authority, TrustedRoot

__all__ = ["MAX_TIMESTAMPS", "verify_timestamps"]

_CHECK = "timestamp check failed"
# sigstore-go and sigstore-python refuse more than 32 timestamps (a denial-of-service bound).
MAX_TIMESTAMPS = 32


def _verify_with(authority: Authority, response: object, message: bytes) -> datetime | None:
    from rfc3161_client import TimeStampResponse, VerifierBuilder
    from rfc3161_client import VerificationError as TsaError

    assert isinstance(response, TimeStampResponse)
    chain = authority.chain
    builder = VerifierBuilder().tsa_certificate(chain[0]).add_root_certificate(chain[-1])
    for intermediate in chain[1:-1]:
        builder = builder.add_intermediate_certificate(intermediate)
    try:
        builder.build().verify_message(response, message)
    except (TsaError, ValueError):
        return None
    moment = response.tst_info.gen_time
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    leaf = chain[0]
    if not leaf.not_valid_before_utc <= moment <= leaf.not_valid_after_utc:
        return None
    return moment


def verify_timestamps(
    encoded: Sequence[bytes], message: bytes, root: TrustedRoot
) -> list[datetime]:
    """The times vouched for by ``encoded`` (DER responses) over ``message``.

    Every timestamp must verify with some timestamp authority of ``root`` at a time inside
    that authority's validity window; a bundle carrying a timestamp that does not is
    refused. Raises VerificationError ("timestamp check failed: ...").
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
            moment = _verify_with(authority, response, message)
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
