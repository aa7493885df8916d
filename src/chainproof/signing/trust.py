"""The organisation's trusted root, in Sigstore's ``trusted_root.json`` shape (v0.1).

protobuf-specs ``dev.sigstore.trustroot.v1.TrustedRoot`` (JSON names): chainproof fills
``certificateAuthorities``; ``tlogs``, ``ctlogs`` and ``timestampAuthorities`` stay empty
until the transparency log and the timestamp authority exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chainproof.core.dsse import b64decode, b64encode
from chainproof.errors import InvalidInput
from chainproof.signing.ca import DEFAULT_ISSUER

__all__ = ["MEDIA_TYPE", "ca_certs_from_trusted_root", "trusted_root_json"]

MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trusted_root_json(
    ca_certs_pem: Sequence[bytes], *, start: datetime, uri: str = DEFAULT_ISSUER
) -> dict[str, Any]:
    """A trusted root listing each CA certificate as one certificate authority.

    Each authority's chain is the CA certificate alone (chainproof CAs are roots), valid
    from ``start``; ``uri`` names the issuing service. Raises InvalidInput for a PEM that
    does not parse.
    """
    authorities = []
    for pem in ca_certs_pem:
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise InvalidInput("a CA certificate of the trusted root is not PEM") from None
        org = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        common = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        authorities.append(
            {
                "subject": {
                    "organization": str(org[0].value) if org else "",
                    "commonName": str(common[0].value) if common else "",
                },
                "uri": uri,
                "certChain": {
                    "certificates": [
                        {"rawBytes": b64encode(cert.public_bytes(serialization.Encoding.DER))}
                    ]
                },
                "validFor": {"start": _ts(start)},
            }
        )
    return {
        "mediaType": MEDIA_TYPE,
        "tlogs": [],
        "certificateAuthorities": authorities,
        "ctlogs": [],
        "timestampAuthorities": [],
    }


def ca_certs_from_trusted_root(root: Mapping[str, Any]) -> list[bytes]:
    """The PEM certificates of every certificate authority in a trusted root, in order.

    Raises InvalidInput when the root is not a v0.1 trusted root or a certificate is malformed.
    """
    if not isinstance(root, Mapping) or root.get("mediaType") != MEDIA_TYPE:
        raise InvalidInput(f"not a trusted root ({MEDIA_TYPE})")
    out = []
    try:
        for authority in root.get("certificateAuthorities") or []:
            for cert in authority["certChain"]["certificates"]:
                der = b64decode(cert["rawBytes"], "a trusted root certificate")
                out.append(
                    x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
                )
    except (KeyError, TypeError, ValueError) as err:
        raise InvalidInput(f"the trusted root is malformed: {err!r}") from None
    return out
