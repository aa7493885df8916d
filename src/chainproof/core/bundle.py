"""Sigstore bundles (protobuf-specs ``dev.sigstore.bundle.v1.Bundle``, JSON form).

chainproof writes v0.3 bundles (``application/vnd.dev.sigstore.bundle.v0.3+json``) carrying a
DSSE envelope and either the signing certificate (keyless: ``certificate.rawBytes``, the leaf
only, as v0.3 requires) or a public-key hint (``publicKey.hint``, for ``push --key``).
v0.1 and v0.2 bundles, whose verification material may hold a whole ``x509CertificateChain``,
are read too. Field names are the protobuf JSON names (camelCase), so standard Sigstore
tools read our bundles.

Transparency-log entries (``tlogEntries``) and the RFC 3161 timestamps
(``timestampVerificationData.rfc3161Timestamps``) are kept exactly as given here; the
verifier (``chainproof.signing.verifier``) parses and checks them.

Bundles signing an artifact directly (``messageSignature``, as ``cosign sign-blob`` and
``sigstore sign`` write) are read only with ``from_json(..., allow_message_signature=True)``:
chainproof's own attestations are always DSSE, and the server refuses anything else.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.core.dsse import Envelope, b64decode, b64encode
from chainproof.errors import InvalidInput

__all__ = ["MAX_BUNDLE_BYTES", "MEDIA_TYPES", "MEDIA_TYPE_V03", "Bundle", "MessageSignature"]

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


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars): what ``copy.deepcopy`` does
    for it, several times faster, since bundles are copied on every read of their entries."""
    if isinstance(value, str | int | float | bool | None):
        return value
    if isinstance(value, Mapping):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy_json(v) for v in value]
    return copy.deepcopy(value)


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


@dataclass(frozen=True)
class MessageSignature:
    """A signature over an artifact (protobuf-specs ``MessageSignature``).

    ``digest`` is the artifact's SHA-256 as the bundle states it (None when absent); the
    signature covers that digest (prehashed ECDSA), never the statement of the bundle.
    """

    signature: bytes
    digest: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        """The protobuf JSON form."""
        out: dict[str, Any] = {"signature": b64encode(self.signature)}
        if self.digest is not None:
            out["messageDigest"] = {"algorithm": "SHA2_256", "digest": b64encode(self.digest)}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MessageSignature:
        """Parse ``messageSignature``; InvalidInput when malformed or not SHA-256."""
        data = _mapping(data, "messageSignature")
        signature = b64decode(data.get("signature"), "the message signature")
        digest = None
        if data.get("messageDigest") is not None:
            md = _mapping(data["messageDigest"], "messageSignature.messageDigest")
            if md.get("algorithm") != "SHA2_256":
                raise InvalidInput(f"unsupported message digest algorithm {md.get('algorithm')!r}")
            digest = b64decode(md.get("digest"), "the message digest")
        return cls(signature, digest)


class Bundle:
    """A parsed Sigstore bundle holding a DSSE envelope (or, when allowed, a message
    signature).

    Build with :meth:`from_json`, or with the keyword-only constructor (signers do). Exactly
    one of ``certificate_chain_der`` (leaf first) and ``public_key_hint`` must be given, and
    exactly one of ``envelope`` and ``message_signature``.
    """

    def __init__(
        self,
        *,
        envelope: Envelope | None = None,
        message_signature: MessageSignature | None = None,
        certificate_chain_der: Sequence[bytes] = (),
        public_key_hint: str | None = None,
        tlog_entries: Sequence[Mapping[str, Any]] = (),
        rfc3161_timestamps: Sequence[Mapping[str, Any]] = (),
        media_type: str = MEDIA_TYPE_V03,
    ) -> None:
        if bool(certificate_chain_der) == (public_key_hint is not None):
            raise InvalidInput("a bundle needs either a certificate or a public-key hint")
        if (envelope is None) == (message_signature is None):
            raise InvalidInput("a bundle needs either a DSSE envelope or a message signature")
        if not isinstance(media_type, str) or media_type not in MEDIA_TYPES:
            raise InvalidInput(f"unsupported bundle media type {media_type!r}")
        self._envelope = envelope
        self._message_signature = message_signature
        self._chain = tuple(certificate_chain_der)
        self._hint = public_key_hint
        self._tlog = tuple(_copy_json(dict(e)) for e in tlog_entries)
        self._timestamps = tuple(_copy_json(dict(t)) for t in rfc3161_timestamps)
        self._media_type = media_type
        # v0.3 names the leaf alone (``certificate``); older versions a chain.
        self._form = _CERTIFICATE if media_type.endswith(("v0.3+json", "0.3")) else _CHAIN

    @property
    def envelope(self) -> Envelope:
        """The signed DSSE envelope; InvalidInput for a message-signature bundle."""
        if self._envelope is None:
            raise InvalidInput("the bundle holds a message signature, not a DSSE envelope")
        return self._envelope

    @property
    def dsse_envelope(self) -> Envelope | None:
        """The DSSE envelope, or None for a message-signature bundle."""
        return self._envelope

    @property
    def message_signature(self) -> MessageSignature | None:
        """The message signature, or None for a DSSE bundle."""
        return self._message_signature

    @property
    def signature(self) -> bytes:
        """The signature bytes: the DSSE envelope's first signature or the message signature.

        This is what RFC 3161 timestamps in the bundle cover. Empty when the envelope has
        no signature.
        """
        if self._message_signature is not None:
            return self._message_signature.signature
        sigs = self.envelope.signatures
        return sigs[0].sig if sigs else b""

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
        return tuple(_copy_json(e) for e in self._tlog)

    @property
    def rfc3161_timestamps(self) -> tuple[dict[str, Any], ...]:
        """RFC 3161 timestamps, as given (``{"signedTimestamp": <base64 DER>}`` each)."""
        return tuple(_copy_json(t) for t in self._timestamps)

    def to_dict(self) -> dict[str, Any]:
        """The protobuf JSON form (a new object each call)."""
        material: dict[str, Any]
        if self._hint is not None:
            material = {"publicKey": {"hint": self._hint}}
        elif self._form == _CERTIFICATE:
            material = {_CERTIFICATE: {"rawBytes": b64encode(self._chain[0])}}
        else:
            material = {_CHAIN: {"certificates": [{"rawBytes": b64encode(c)} for c in self._chain]}}
        material["tlogEntries"] = [_copy_json(e) for e in self._tlog]
        material["timestampVerificationData"] = {
            "rfc3161Timestamps": [_copy_json(t) for t in self._timestamps]
        }
        content: dict[str, Any] = (
            {"dsseEnvelope": self._envelope.to_dict()}
            if self._envelope is not None
            else {"messageSignature": self._message_signature.to_dict()}  # type: ignore[union-attr]  # one is set (__init__)
        )
        return {"mediaType": self._media_type, "verificationMaterial": material, **content}

    def to_json(self) -> str:
        """Stable JSON text (sorted keys, no spaces): the form that is stored and digested."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> Digest:
        """SHA-256 of :meth:`to_json`: the attestation digest of a run."""
        return Digest.of_bytes(self.to_json().encode("utf-8"))

    @classmethod
    def from_json(
        cls, data: str | bytes | Mapping[str, Any], *, allow_message_signature: bool = False
    ) -> Bundle:
        """Parse a bundle from JSON text or an already-decoded object.

        Raises InvalidInput for anything that is not a Sigstore bundle v0.1-v0.3 holding a
        DSSE envelope (or, with ``allow_message_signature``, a message signature): unknown
        media type, no envelope, no certificate or key hint, bad base64, wrong JSON types.
        """
        if isinstance(data, str | bytes):
            if len(data) > MAX_BUNDLE_BYTES:
                raise InvalidInput(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
            try:
                data = jsonload.loads(data)
            except (ValueError, UnicodeDecodeError) as err:
                raise InvalidInput(f"the bundle is not JSON: {err}") from None
        data = _mapping(data, "a Sigstore bundle")
        media_type = data.get("mediaType")
        if not isinstance(media_type, str) or media_type not in MEDIA_TYPES:
            raise InvalidInput(
                f"unsupported bundle media type {media_type!r}",
                hint=f"chainproof reads Sigstore bundles v0.1 to v0.3 ({MEDIA_TYPE_V03})",
            )
        envelope = message = None
        if data.get("dsseEnvelope") is not None:
            envelope = Envelope.from_dict(_mapping(data["dsseEnvelope"], "dsseEnvelope"))
        elif allow_message_signature and data.get("messageSignature") is not None:
            message = MessageSignature.from_dict(data["messageSignature"])
        else:
            raise InvalidInput(
                "the bundle holds no dsseEnvelope",
                hint="chainproof bundles sign an in-toto statement in a DSSE envelope; "
                "messageSignature bundles are not attestations",
            )
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
            message_signature=message,
            certificate_chain_der=chain,
            public_key_hint=hint,
            tlog_entries=tlog,
            rfc3161_timestamps=stamps,
            media_type=media_type,
        )
        # Keep the form we read, so a re-serialised bundle says what the original said.
        bundle._form = _CERTIFICATE if _CERTIFICATE in material else _CHAIN
        return bundle
