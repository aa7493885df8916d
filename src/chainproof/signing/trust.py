"""The organisation's trusted root, in Sigstore's ``trusted_root.json`` shape (v0.1)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chainproof.errors import InvalidInput

MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trusted_root_json(ca_certs_pem: Sequence[bytes], *, start: datetime) -> dict[str, Any]:
    """A trusted root listing the CA certificates (transparency log and TSA come later)."""
    authorities = []
    for pem in ca_certs_pem:
        cert = x509.load_pem_x509_certificate(pem)
        org = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        common = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        authorities.append(
            {
                "subject": {
                    "organization": str(org[0].value) if org else "",
                    "commonName": str(common[0].value) if common else "",
                },
                "uri": "https://chainproof.local",
                "certChain": {
                    "certificates": [
                        {
                            "rawBytes": base64.b64encode(
                                cert.public_bytes(serialization.Encoding.DER)
                            ).decode()
                        }
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
    """The PEM certificates of every CA in a trusted root; InvalidInput if malformed."""
    out = []
    try:
        for authority in root.get("certificateAuthorities") or []:
            for cert in authority["certChain"]["certificates"]:
                der = base64.b64decode(cert["rawBytes"])
                out.append(
                    x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
                )
    except (KeyError, TypeError, ValueError) as err:
        raise InvalidInput(f"the trusted root is malformed: {err!r}") from None
    return out
