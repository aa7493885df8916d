"""Transparency-log entries of Sigstore bundles: parse, prove inclusion, match the bundle.

A bundle's ``tlogEntries`` item (protobuf-specs ``dev.sigstore.rekor.v1.TransparencyLogEntry``)
carries the logged body (``canonicalizedBody``), an inclusion proof with a signed checkpoint
and, for Rekor v1, a signed entry timestamp (``inclusionPromise``) over the integrated time.
:func:`verify_entry` checks the proof (RFC 6962 via :mod:`chainproof.core.merkle`), the
checkpoint (:mod:`chainproof.signing.checkpoint`) and the promise, and returns the time the
entry vouches for. :func:`check_body` then checks that the body logs *this* bundle's
signature, key and content, so a valid entry cannot be replayed onto another bundle
(CVE-2022-36056). Entry kinds read: ``hashedrekord`` 0.0.1 and 0.0.2 (Rekor v2, also used for
DSSE over the PAE), ``dsse`` 0.0.1 and ``intoto`` 0.0.2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chainproof.core import jsonload
from chainproof.core.dsse import Envelope, b64decode
from chainproof.core.merkle import leaf_hash, verify_inclusion
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing._keys import verify_signature
from chainproof.signing.checkpoint import verify_checkpoint
from chainproof.signing.trust import TrustedRoot

__all__ = [
    "InclusionProof",
    "LogEntry",
    "SignedContent",
    "check_body",
    "parse_entries",
    "verify_entry",
]

_CHECK = "transparency log check failed"
_MAX_PROOF_HASHES = 64


def _fail(reason: str) -> VerificationError:
    return VerificationError(f"{_CHECK}: {reason}")


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _fail(f"{what} is not an integer")
    try:
        number = int(value)
    except ValueError:
        raise _fail(f"{what} is not an integer") from None
    if number < 0:
        raise _fail(f"{what} is negative ({number})")
    return number


def _b64(value: Any, what: str) -> bytes:
    try:
        return b64decode(value, what)
    except InvalidInput as err:
        raise _fail(err.message) from None


@dataclass(frozen=True)
class InclusionProof:
    """An audit path from the entry's leaf to a checkpointed root."""

    log_index: int
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str | None


@dataclass(frozen=True)
class LogEntry:
    """One parsed ``TransparencyLogEntry``; build with :meth:`from_dict`."""

    log_index: int
    log_id: bytes
    kind: str
    version: str
    body: bytes
    integrated_time: int | None
    promise: bytes | None
    proof: InclusionProof | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogEntry:
        """Parse the protobuf JSON form; VerificationError naming the malformed field."""
        if not isinstance(data, Mapping):
            raise _fail("an entry is not an object")
        kind_version = data.get("kindVersion")
        log_id = data.get("logId")
        if not isinstance(kind_version, Mapping) or not isinstance(log_id, Mapping):
            raise _fail("an entry lacks kindVersion or logId")
        proof = None
        raw_proof = data.get("inclusionProof")
        if raw_proof is not None:
            if not isinstance(raw_proof, Mapping):
                raise _fail("inclusionProof is not an object")
            hashes = raw_proof.get("hashes") or []
            if not isinstance(hashes, list) or len(hashes) > _MAX_PROOF_HASHES:
                raise _fail("inclusionProof.hashes is not a list of at most 64 hashes")
            checkpoint = raw_proof.get("checkpoint")
            envelope = checkpoint.get("envelope") if isinstance(checkpoint, Mapping) else None
            proof = InclusionProof(
                log_index=_int(raw_proof.get("logIndex", 0), "inclusionProof.logIndex"),
                tree_size=_int(raw_proof.get("treeSize"), "inclusionProof.treeSize"),
                root_hash=_b64(raw_proof.get("rootHash"), "inclusionProof.rootHash"),
                hashes=tuple(_b64(h, "an inclusion proof hash") for h in hashes),
                checkpoint=envelope if isinstance(envelope, str) and envelope else None,
            )
        promise = data.get("inclusionPromise")
        set_bytes = None
        if promise is not None:
            if not isinstance(promise, Mapping):
                raise _fail("inclusionPromise is not an object")
            set_bytes = _b64(promise.get("signedEntryTimestamp"), "the signed entry timestamp")
        integrated = _int(data.get("integratedTime", 0), "integratedTime")
        return cls(
            log_index=_int(data.get("logIndex", 0), "logIndex"),
            log_id=_b64(log_id.get("keyId"), "logId.keyId"),
            kind=str(kind_version.get("kind") or ""),
            version=str(kind_version.get("version") or ""),
            body=_b64(data.get("canonicalizedBody"), "canonicalizedBody"),
            integrated_time=integrated or None,
            promise=set_bytes,
            proof=proof,
        )


def verify_entry(
    entry: LogEntry, root: TrustedRoot, *, require_proof: bool, now: datetime
) -> datetime | None:
    """Verify ``entry`` against the logs of ``root``; return the integrated time it proves.

    Checks: the log is one the root trusts; the inclusion proof (required when
    ``require_proof``, i.e. for v0.2+ bundles) leads from the body's leaf hash to the root
    hash of a checkpoint signed by the log; the signed entry timestamp, when present, is the
    log's signature over the entry, and its integrated time is not after ``now`` and inside
    the log key's validity. Returns that integrated time (None when the entry has no promise:
    Rekor v2 entries get their time from an RFC 3161 timestamp). Raises VerificationError.
    """
    log = root.tlog(entry.log_id)
    if log is None:
        raise _fail(
            f"the entry is from log {entry.log_id.hex()[:16]}..., which the trusted root "
            "does not list"
        )
    if entry.proof is None:
        if require_proof:
            raise _fail("the entry has no inclusion proof")
    else:
        proof = entry.proof
        verify_inclusion(
            proof.log_index, proof.tree_size, leaf_hash(entry.body), proof.hashes, proof.root_hash
        )
        if proof.checkpoint is None:
            if require_proof:
                raise _fail("the inclusion proof has no checkpoint")
        else:
            checkpoint = verify_checkpoint(proof.checkpoint, log)
            if checkpoint.tree_size != proof.tree_size or checkpoint.root_hash != proof.root_hash:
                raise VerificationError(
                    "checkpoint check failed: the signed checkpoint (size "
                    f"{checkpoint.tree_size}, root {checkpoint.root_hash.hex()[:16]}...) is not "
                    f"the proof's tree (size {proof.tree_size}, root "
                    f"{proof.root_hash.hex()[:16]}...)"
                )
    if entry.promise is None:
        return None
    if entry.integrated_time is None:
        raise _fail("the signed entry timestamp has no integrated time")
    # Rekor's SET signs the RFC 8785 form of these four fields; with only ASCII strings and
    # integers, sorted compact json.dumps is exactly that form.
    signed = json.dumps(
        {
            "body": base64.b64encode(entry.body).decode("ascii"),
            "integratedTime": entry.integrated_time,
            "logID": entry.log_id.hex(),
            "logIndex": entry.log_index,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("ascii")
    if not verify_signature(log.key, entry.promise, signed):
        raise VerificationError(
            "signed entry timestamp check failed: the log's signature over the entry does not "
            "verify"
        )
    moment = datetime.fromtimestamp(entry.integrated_time, tz=UTC)
    if moment > now:
        raise _fail(f"the entry's integrated time {moment:%Y-%m-%d %H:%M:%S} UTC is in the future")
    log.check_valid_at(moment, "transparency log")
    return moment


# -- body consistency ---------------------------------------------------------------------
@dataclass(frozen=True)
class SignedContent:
    """What the bundle signed, for comparing with a logged body.

    Exactly one of ``envelope`` (DSSE) and ``digest`` (SHA-256 of the artifact a message
    signature covers) is set; ``verifier_der`` is the signing certificate (DER) or, for a
    key-signed bundle, the public key (DER SubjectPublicKeyInfo); ``is_certificate`` says
    which.
    """

    signature: bytes
    verifier_der: bytes
    is_certificate: bool
    envelope: Envelope | None = None
    digest: bytes | None = None


def _verifier_matches(content: SignedContent, pem_or_der: bytes) -> bool:
    """Whether a logged certificate/key (PEM or DER) is the bundle's signer."""
    try:
        if content.is_certificate:
            if pem_or_der.lstrip().startswith(b"-----"):
                cert = x509.load_pem_x509_certificate(pem_or_der)
            else:
                cert = x509.load_der_x509_certificate(pem_or_der)
            return cert.public_bytes(serialization.Encoding.DER) == content.verifier_der
        if pem_or_der.lstrip().startswith(b"-----"):
            key = serialization.load_pem_public_key(pem_or_der)
        else:
            key = serialization.load_der_public_key(pem_or_der)
    except ValueError:
        return False
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return spki == content.verifier_der


def _path(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _std_b64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _mismatch(what: str) -> VerificationError:
    return VerificationError(
        f"log entry consistency check failed: the logged {what} is not this bundle's"
    )


def _check_hashedrekord_v1(body: Any, content: SignedContent) -> None:
    if content.digest is None:
        raise _mismatch("entry kind (hashedrekord logs a message signature, not DSSE)")
    spec = _path(body, "spec")
    if _path(spec, "data", "hash", "algorithm") != "sha256":
        raise _mismatch("artifact hash algorithm")
    if _path(spec, "data", "hash", "value") != content.digest.hex():
        raise _mismatch("artifact digest")
    if _std_b64(_path(spec, "signature", "content")) != content.signature:
        raise _mismatch("signature")
    logged = _std_b64(_path(spec, "signature", "publicKey", "content"))
    if logged is None or not _verifier_matches(content, logged):
        raise _mismatch("certificate or key")


def _check_hashedrekord_v2(body: Any, content: SignedContent) -> None:
    spec = _path(body, "spec", "hashedRekordV002")
    if content.envelope is not None:
        # rekor-v2 spec §6.1.4: DSSE is logged as hashedrekord over the PAE's digest.
        if len(content.envelope.signatures) != 1:
            raise _mismatch("signature (DSSE with several signatures)")
        expected = hashlib.sha256(content.envelope.pae()).digest()
    else:
        expected = content.digest or b""
    if _path(spec, "data", "algorithm") != "SHA2_256":
        raise _mismatch("digest algorithm")
    if _std_b64(_path(spec, "data", "digest")) != expected:
        raise _mismatch("digest")
    if _std_b64(_path(spec, "signature", "content")) != content.signature:
        raise _mismatch("signature")
    verifier = _path(spec, "signature", "verifier")
    raw = _path(verifier, "x509Certificate", "rawBytes") or _path(verifier, "publicKey", "rawBytes")
    logged = _std_b64(raw)
    if logged is None or not _verifier_matches(content, logged):
        raise _mismatch("certificate or key")


def _check_dsse_signatures(
    logged: Any, content: SignedContent, *, sig_key: str, verifier_key: str, double: bool
) -> None:
    envelope = content.envelope
    assert envelope is not None  # callers check
    if not isinstance(logged, list) or len(logged) != len(envelope.signatures):
        raise _mismatch("signature list")
    for item, signature in zip(logged, envelope.signatures, strict=True):
        if not isinstance(item, Mapping):
            raise _mismatch("signature list")
        sig = _std_b64(item.get(sig_key))
        if double and sig is not None:
            sig = _std_b64(sig.decode("ascii", "replace"))
        if sig != signature.sig:
            raise _mismatch("signature")
        verifier = _std_b64(item.get(verifier_key))
        if verifier is None or not _verifier_matches(content, verifier):
            raise _mismatch("certificate or key")


def _check_dsse_v1(body: Any, content: SignedContent) -> None:
    if content.envelope is None:
        raise _mismatch("entry kind (dsse logs an envelope, not a message signature)")
    spec = _path(body, "spec")
    if _path(spec, "payloadHash", "algorithm") != "sha256":
        raise _mismatch("payload hash algorithm")
    if _path(spec, "payloadHash", "value") != hashlib.sha256(content.envelope.payload).hexdigest():
        raise _mismatch("payload hash")
    # The logged envelopeHash covers uncanonicalised JSON and cannot be recomputed.
    _check_dsse_signatures(
        _path(spec, "signatures"),
        content,
        sig_key="signature",
        verifier_key="verifier",
        double=False,
    )


def _check_intoto_v2(body: Any, content: SignedContent) -> None:
    if content.envelope is None:
        raise _mismatch("entry kind (intoto logs an envelope, not a message signature)")
    spec = _path(body, "spec", "content")
    if _path(spec, "payloadHash", "algorithm") != "sha256":
        raise _mismatch("payload hash algorithm")
    if _path(spec, "payloadHash", "value") != hashlib.sha256(content.envelope.payload).hexdigest():
        raise _mismatch("payload hash")
    if _path(spec, "envelope", "payloadType") != content.envelope.payload_type:
        raise _mismatch("payload type")
    # Rekor's intoto 0.0.2 stores each signature base64-encoded twice.
    _check_dsse_signatures(
        _path(spec, "envelope", "signatures"),
        content,
        sig_key="sig",
        verifier_key="publicKey",
        double=True,
    )


_BODY_CHECKS = {
    ("hashedrekord", "0.0.1"): _check_hashedrekord_v1,
    ("hashedrekord", "0.0.2"): _check_hashedrekord_v2,
    ("dsse", "0.0.1"): _check_dsse_v1,
    ("intoto", "0.0.2"): _check_intoto_v2,
}


def check_body(entry: LogEntry, content: SignedContent) -> None:
    """Check that ``entry``'s logged body records ``content``; VerificationError if not."""
    check = _BODY_CHECKS.get((entry.kind, entry.version))
    if check is None:
        raise _fail(f"unsupported entry kind {entry.kind}/{entry.version}")
    try:
        body = jsonload.loads(entry.body)
    except (ValueError, UnicodeDecodeError):
        raise _mismatch("body (not JSON)") from None
    if _path(body, "kind") != entry.kind or _path(body, "apiVersion") != entry.version:
        raise _mismatch("kind and version")
    check(body, content)


def parse_entries(items: Sequence[Mapping[str, Any]]) -> list[LogEntry]:
    """Parse every ``tlogEntries`` item (VerificationError naming the malformed field)."""
    return [LogEntry.from_dict(item) for item in items]
