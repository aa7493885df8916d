"""Sigstore bundles (protobuf-specs ``dev.sigstore.bundle.v1.Bundle``, JSON form).

chainproof writes v0.3 bundles (``application/vnd.dev.sigstore.bundle.v0.3+json``) carrying a
DSSE envelope and either the signing certificate (keyless: ``certificate.rawBytes``, the leaf
only, as v0.3 requires) or a public-key hint (``publicKey.hint``, for ``push --key``).
v0.1 and v0.2 bundles, whose verification material may hold a whole ``x509CertificateChain``,
are read too. Field names are the protobuf JSON names (camelCase), so standard Sigstore
tools read our bundles.

Transparency-log entries (``tlogEntries``) and the RFC 3161 timestamps
(``timestampVerificationData.rfc3161Timestamps``) are kept exactly as given: the issue that
adds the transparency log and the timestamp authority fills and checks them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from chainproof.core.digest import Digest
from chainproof.core.dsse import Envelope, b64decode, b64encode
from chainproof.errors import InvalidInput

__all__ = ["MAX_BUNDLE_BYTES", "MEDIA_TYPES", "MEDIA_TYPE_V03", "Bundle"]

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
_CERTIFICATE = "certificate"
_CHAIN = "x509CertificateChain"


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{what} must be a JSON list")
    return value


class Bundle:
    """A parsed Sigstore bundle holding a DSSE envelope.

    Build with :meth:`from_json`, or with the keyword-only constructor (signers do). Exactly
    one of ``certificate_chain_der`` (leaf first) and ``public_key_hint`` must be given.
    """

    def __init__(
        self,
        *,
        envelope: Envelope,
        certificate_chain_der: Sequence[bytes] = (),
        public_key_hint: str | None = None,
        tlog_entries: Sequence[Mapping[str, Any]] = (),
        rfc3161_timestamps: Sequence[Mapping[str, Any]] = (),
        media_type: str = MEDIA_TYPE_V03,
    ) -> None:
        if bool(certificate_chain_der) == (public_key_hint is not None):
            raise InvalidInput("a bundle needs either a certificate or a public-key hint")
        if not isinstance(media_type, str) or media_type not in MEDIA_TYPES:
            raise InvalidInput(f"unsupported bundle media type {media_type!r}")
        self._envelope = envelope
        self._chain = tuple(certificate_chain_der)
        self._hint = public_key_hint
        self._tlog = tuple(copy.deepcopy(dict(e)) for e in tlog_entries)
        self._timestamps = tuple(copy.deepcopy(dict(t)) for t in rfc3161_timestamps)
        self._media_type = media_type
        # v0.3 names the leaf alone (``certificate``); older versions a chain.
        self._form = _CERTIFICATE if media_type.endswith(("v0.3+json", "0.3")) else _CHAIN

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
        """The certificates the bundle carries, leaf first (v0.3: only the leaf)."""
        return self._chain

    @property
    def public_key_hint(self) -> str | None:
        """The public-key hint of a key-signed bundle, else None."""
        return self._hint

    @property
    def tlog_entries(self) -> tuple[dict[str, Any], ...]:
        """Transparency-log entries, as given (protobuf JSON ``TransparencyLogEntry``)."""
        return tuple(copy.deepcopy(e) for e in self._tlog)

    @property
    def rfc3161_timestamps(self) -> tuple[dict[str, Any], ...]:
        """RFC 3161 timestamps, as given (``{"signedTimestamp": <base64 DER>}`` each)."""
        return tuple(copy.deepcopy(t) for t in self._timestamps)

    def to_dict(self) -> dict[str, Any]:
        """The protobuf JSON form (a new object each call)."""
        material: dict[str, Any]
        if self._hint is not None:
            material = {"publicKey": {"hint": self._hint}}
        elif self._form == _CERTIFICATE:
            material = {_CERTIFICATE: {"rawBytes": b64encode(self._chain[0])}}
        else:
            material = {_CHAIN: {"certificates": [{"rawBytes": b64encode(c)} for c in self._chain]}}
        material["tlogEntries"] = [copy.deepcopy(e) for e in self._tlog]
        material["timestampVerificationData"] = {
            "rfc3161Timestamps": [copy.deepcopy(t) for t in self._timestamps]
        }
        return {
            "mediaType": self._media_type,
            "verificationMaterial": material,
            "dsseEnvelope": self._envelope.to_dict(),
        }

    def to_json(self) -> str:
        """Stable JSON text (sorted keys, no spaces): the form that is stored and digested."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> Digest:
        """SHA-256 of :meth:`to_json`: the attestation digest of a run."""
        return Digest.of_bytes(self.to_json().encode("utf-8"))

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> Bundle:
        """Parse a bundle from JSON text or an already-decoded object.

        Raises InvalidInput for anything that is not a Sigstore bundle v0.1-v0.3 holding a
        DSSE envelope: unknown media type, no envelope (message signatures are not used),
        no certificate or key hint, bad base64, wrong JSON types.
        """
        if isinstance(data, str | bytes):
            if len(data) > MAX_BUNDLE_BYTES:
                raise InvalidInput(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
            try:
                data = json.loads(data)
            except (ValueError, UnicodeDecodeError) as err:
                raise InvalidInput(f"the bundle is not JSON: {err}") from None
        data = _mapping(data, "a Sigstore bundle")
        media_type = data.get("mediaType")
        if not isinstance(media_type, str) or media_type not in MEDIA_TYPES:
            raise InvalidInput(
                f"unsupported bundle media type {media_type!r}",
                hint=f"chainproof reads Sigstore bundles v0.1 to v0.3 ({MEDIA_TYPE_V03})",
            )
        if data.get("dsseEnvelope") is None:
            raise InvalidInput(
                "the bundle holds no dsseEnvelope",
                hint="chainproof bundles sign an in-toto statement in a DSSE envelope; "
                "messageSignature bundles are not attestations",
            )
        envelope = Envelope.from_dict(_mapping(data["dsseEnvelope"], "dsseEnvelope"))
        material = _mapping(data.get("verificationMaterial"), "verificationMaterial")
        chain: tuple[bytes, ...] = ()
        hint: str | None = None
        if _CERTIFICATE in material:
            cert = _mapping(material[_CERTIFICATE], "verificationMaterial.certificate")
            chain = (b64decode(cert.get("rawBytes"), "the bundle certificate"),)
        elif _CHAIN in material:
            holder = _mapping(material[_CHAIN], "verificationMaterial.x509CertificateChain")
            certs = _list(holder.get("certificates"), "x509CertificateChain.certificates")
            if not certs:
                raise InvalidInput("the bundle's certificate chain is empty")
            chain = tuple(
                b64decode(_mapping(c, "a chain certificate").get("rawBytes"), f"certificate {i}")
                for i, c in enumerate(certs)
            )
        elif "publicKey" in material:
            key = _mapping(material["publicKey"], "verificationMaterial.publicKey")
            hint = key.get("hint")
            if not isinstance(hint, str) or not hint:
                raise InvalidInput("the bundle's publicKey has no hint")
        else:
            raise InvalidInput("the bundle names neither a certificate nor a public key")
        tlog = [
            _mapping(e, "a tlogEntries item")
            for e in _list(material.get("tlogEntries"), "tlogEntries")
        ]
        tsd = _mapping(material.get("timestampVerificationData") or {}, "timestampVerificationData")
        stamps = []
        for t in _list(tsd.get("rfc3161Timestamps"), "rfc3161Timestamps"):
            stamp = _mapping(t, "an rfc3161Timestamps item")
            b64decode(stamp.get("signedTimestamp"), "an RFC 3161 timestamp")  # well-formed
            stamps.append(stamp)
        bundle = cls(
            envelope=envelope,
            certificate_chain_der=chain,
            public_key_hint=hint,
            tlog_entries=tlog,
            rfc3161_timestamps=stamps,
            media_type=media_type,
        )
        # Keep the form we read, so a re-serialised bundle says what the original said.
        bundle._form = _CERTIFICATE if _CERTIFICATE in material else _CHAIN
        return bundle
