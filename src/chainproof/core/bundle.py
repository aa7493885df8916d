"""Sigstore bundles (protobuf-specs ``dev.sigstore.bundle.v1.Bundle``, JSON form).

chainproof writes v0.3 bundles carrying a DSSE envelope and either the signing certificate
(keyless) or a public-key hint (``--key``). v0.1 and v0.2 bundles, whose verification material
may hold a whole ``x509CertificateChain``, are read too. Field names are the protobuf JSON
names (camelCase), so standard Sigstore tools read our bundles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chainproof.core.digest import Digest
from chainproof.core.dsse import Envelope, b64decode, b64encode
from chainproof.errors import InvalidInput

MEDIA_TYPE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        MEDIA_TYPE_V03,
    }
)
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


class Bundle:
    """A parsed Sigstore bundle holding a DSSE envelope. Build with ``from_json`` or ``create``."""

    def __init__(
        self,
        *,
        envelope: Envelope,
        certificate_chain_der: tuple[bytes, ...] = (),
        public_key_hint: str | None = None,
        tlog_entries: tuple[Mapping[str, Any], ...] = (),
        timestamps: tuple[bytes, ...] = (),
        media_type: str = MEDIA_TYPE_V03,
    ) -> None:
        if not certificate_chain_der and public_key_hint is None:
            raise InvalidInput("a bundle needs a certificate or a public-key hint")
        self._envelope = envelope
        self._chain = certificate_chain_der
        self._hint = public_key_hint
        self._tlog = tlog_entries
        self._timestamps = timestamps
        self._media_type = media_type

    @property
    def envelope(self) -> Envelope:
        """The signed DSSE envelope."""
        return self._envelope

    @property
    def media_type(self) -> str:
        """The bundle's media type (its format version)."""
        return self._media_type

    @property
    def leaf_certificate_der(self) -> bytes | None:
        """The signing certificate (DER), or None for a key-signed bundle."""
        return self._chain[0] if self._chain else None

    @property
    def certificate_chain_der(self) -> tuple[bytes, ...]:
        """Leaf first; v0.3 bundles carry only the leaf."""
        return self._chain

    @property
    def public_key_hint(self) -> str | None:
        """The public-key hint of a key-signed bundle."""
        return self._hint

    def to_dict(self) -> dict[str, Any]:
        """The protobuf JSON form."""
        material: dict[str, Any]
        if self._chain and self._media_type == MEDIA_TYPE_V03:
            material = {"certificate": {"rawBytes": b64encode(self._chain[0])}}
        elif self._chain:
            material = {
                "x509CertificateChain": {
                    "certificates": [{"rawBytes": b64encode(c)} for c in self._chain]
                }
            }
        else:
            material = {"publicKey": {"hint": self._hint}}
        material["tlogEntries"] = [dict(e) for e in self._tlog]
        material["timestampVerificationData"] = {
            "rfc3161Timestamps": [{"signedTimestamp": b64encode(t)} for t in self._timestamps]
        }
        return {
            "mediaType": self._media_type,
            "verificationMaterial": material,
            "dsseEnvelope": self._envelope.to_dict(),
        }

    def to_json(self) -> str:
        """Stable JSON text (sorted keys), the form that is stored and digested."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> Digest:
        """SHA-256 of :meth:`to_json`: the attestation digest of a run."""
        return Digest.of_bytes(self.to_json().encode())

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> Bundle:
        """Parse a bundle from JSON text or an already-decoded object; InvalidInput if bad."""
        if isinstance(data, str | bytes):
            if len(data) > MAX_BUNDLE_BYTES:
                raise InvalidInput(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
            try:
                data = json.loads(data)
            except (ValueError, UnicodeDecodeError) as err:
                raise InvalidInput(f"the bundle is not JSON: {err}") from None
        if not isinstance(data, Mapping):
            raise InvalidInput("a Sigstore bundle must be a JSON object")
        media_type = data.get("mediaType")
        if media_type not in MEDIA_TYPES:
            raise InvalidInput(
                f"unsupported bundle media type {media_type!r}",
                hint=f"chainproof reads Sigstore bundles v0.1 to v0.3 ({MEDIA_TYPE_V03})",
            )
        envelope = data.get("dsseEnvelope")
        if envelope is None:
            raise InvalidInput("the bundle holds no dsseEnvelope (message signatures are not used)")
        material = data.get("verificationMaterial")
        if not isinstance(material, Mapping):
            raise InvalidInput("the bundle has no verificationMaterial")
        chain: tuple[bytes, ...] = ()
        hint: str | None = None
        if "certificate" in material:
            cert = material["certificate"]
            raw = cert.get("rawBytes") if isinstance(cert, Mapping) else None
            chain = (b64decode(raw, "the bundle certificate"),)
        elif "x509CertificateChain" in material:
            certs = (material["x509CertificateChain"] or {}).get("certificates") or []
            if not certs:
                raise InvalidInput("the bundle's certificate chain is empty")
            chain = tuple(
                b64decode(c.get("rawBytes"), f"bundle certificate {i}") for i, c in enumerate(certs)
            )
        elif "publicKey" in material:
            key = material["publicKey"]
            hint = key.get("hint") if isinstance(key, Mapping) else None
            if not isinstance(hint, str) or not hint:
                raise InvalidInput("the bundle's publicKey has no hint")
        else:
            raise InvalidInput("the bundle names neither a certificate nor a public key")
        tlog = material.get("tlogEntries") or []
        tsd = material.get("timestampVerificationData") or {}
        stamps = tuple(
            b64decode(t.get("signedTimestamp"), "an RFC 3161 timestamp")
            for t in (tsd.get("rfc3161Timestamps") or [])
        )
        return cls(
            envelope=Envelope.from_dict(envelope),
            certificate_chain_der=chain,
            public_key_hint=hint,
            tlog_entries=tuple(tlog),
            timestamps=stamps,
            media_type=media_type,
        )
