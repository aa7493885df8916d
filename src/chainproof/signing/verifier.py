"""Verify Sigstore bundles offline: chainproof attestations and any Sigstore bundle.

:class:`Verifier` is handed its trust material, a :class:`~chainproof.signing.trust.TrustedRoot`
(certificate authorities, transparency logs, CT logs, timestamp authorities) and/or accepted
public keys, and checks a bundle in a fixed order, raising
:class:`~chainproof.errors.VerificationError` whose message starts with the name of the
check that failed:

1. *timestamp*: every RFC 3161 timestamp verifies with a timestamp authority of the root;
2. *transparency log*: every log entry is from a trusted log, its inclusion proof leads to
   a checkpoint the log signed (*inclusion proof*, *checkpoint*), its signed entry
   timestamp verifies (*signed entry timestamp*); the times from 1 and 2 are the signing
   times (when the bundle has neither, the signing time is ``now``);
3. *certificate chain*, *certificate validity*, *certificate usage*: the leaf chains to a
   certificate authority valid at every signing time, is valid then, and may sign code
   (or, for a key-signed bundle, *key check*: the key is an accepted one);
4. *SCT*: the leaf's embedded SCTs verify with the root's CT logs;
5. *identity*: the policy accepts the signer;
6. *signature*: the signature covers the DSSE PAE, or the artifact's digest;
7. *log entry consistency*: each log entry records this bundle's signature, key and content;
8. *artifact* / *payload*: the artifact is what the message signature or a statement
   subject names; the DSSE payload is an in-toto Statement.

Transparency-log entries and SCTs are required when the trusted root lists transparency
logs or CT logs (so a Sigstore bundle cannot drop them), and checked whenever present.
Identity policies live in :mod:`chainproof.signing.identity` and are re-exported here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from chainproof.core.bundle import Bundle
from chainproof.core.digest import Digest
from chainproof.core.dsse import b64decode
from chainproof.core.statement import PAYLOAD_TYPE, Statement
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing import _chain, chainloop
from chainproof.signing._cache import CheckCache, cache_for
from chainproof.signing._keys import VerifyKey, key_hint, verify_signature
from chainproof.signing.identity import (
    AllOf,
    AnyOf,
    ExactIdentity,
    IdentityPolicy,
    IdentityPrefix,
    KeyIdentity,
    OidcIssuer,
    SignerIdentity,
    UnsafeNoIdentityCheck,
    certificate_identity,
    load_public_key,
)
from chainproof.signing.logentry import LogEntry, SignedContent, check_body, verify_entry
from chainproof.signing.sct import verify_embedded_scts
from chainproof.signing.timestamp import verify_timestamps
from chainproof.signing.trust import Authority, TrustedRoot, Validity

__all__ = [
    "AllOf",
    "AnyOf",
    "ExactIdentity",
    "IdentityPolicy",
    "IdentityPrefix",
    "KeyIdentity",
    "OidcIssuer",
    "SignerIdentity",
    "UnsafeNoIdentityCheck",
    "VerifiedAttestation",
    "VerifiedSignature",
    "Verifier",
]

_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
# A log's integrated time may run slightly ahead of this machine's clock.
_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class VerifiedSignature:
    """What a successful verification proves about the signer, when and how.

    ``identity`` is the certificate's SAN (or the key hint), ``issuer`` its OIDC issuer
    (None for keys); ``signed_at`` the verified signing times (timestamps, log integration;
    empty when the bundle had none and ``now`` was used); ``checks`` names each check
    passed, in order.
    """

    identity: str
    issuer: str | None
    certificate_der: bytes | None
    signed_at: tuple[datetime, ...] = ()
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifiedAttestation:
    """A verified DSSE bundle: this statement, signed by this identity.

    ``payload_type`` is the DSSE payload type (always in-toto here); ``certificate_der`` is
    the signing certificate of a keyless bundle, None for a key-signed one. Callers still
    check ``statement.predicate_type`` before trusting the predicate.
    """

    statement: Statement
    payload_type: str
    identity: str
    certificate_der: bytes | None
    issuer: str | None = None
    signed_at: tuple[datetime, ...] = ()
    checks: tuple[str, ...] = field(default=())


@dataclass
class _Signer:
    key: VerifyKey
    identity: SignerIdentity
    certificate: x509.Certificate | None
    verifier_der: bytes


def _utc(moment: datetime | None) -> datetime:
    at = moment or datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Verifier:
    """Verifies Sigstore bundles against a trusted root and/or accepted public keys.

    ``trusted_root`` gives the certificate authorities, logs and timestamp authorities;
    ``ca_certs`` (PEM) adds certificate authorities trusted from their own ``notBefore``
    (an organisation's current and rotated-out CAs); ``public_keys`` (PEM) are keys whose
    key-signed bundles are accepted. ``require_tlog`` / ``require_sct`` default to whether
    the root lists transparency / CT logs. ``chainloop`` checks certificates the way
    Chainloop's verifier does (:mod:`chainproof.signing.chainloop`): its CAs' extension
    profile, and an untimed bundle at its leaf's issue time. Raises InvalidInput when trust
    material does not parse.
    """

    def __init__(
        self,
        *,
        trusted_root: TrustedRoot | None = None,
        ca_certs: Sequence[bytes] = (),
        public_keys: Sequence[bytes] = (),
        require_tlog: bool | None = None,
        require_sct: bool | None = None,
        chainloop: bool = False,
    ) -> None:
        root = trusted_root or TrustedRoot.empty()
        # Chainloop's CA profile (signing/chainloop.py): its leaf and CA extensions, the
        # leaf's own notBefore as the time of an untimed bundle, re-encoded signatures.
        self._chainloop = chainloop
        extra = []
        for pem in ca_certs:
            try:
                cert = x509.load_pem_x509_certificate(pem)
            except ValueError:
                raise InvalidInput("a trusted CA certificate is not PEM") from None
            extra.append(Authority("", (cert,), Validity(cert.not_valid_before_utc)))
        self._root = TrustedRoot(
            certificate_authorities=(*root.certificate_authorities, *extra),
            tlogs=root.tlogs,
            ctlogs=root.ctlogs,
            timestamp_authorities=root.timestamp_authorities,
        )
        self._keys: dict[str, VerifyKey] = {}
        for pem in public_keys:
            key = load_public_key(pem)
            self._keys[key_hint(key)] = key
        self._require_tlog = bool(root.tlogs) if require_tlog is None else require_tlog
        # Remembered successes of the costly checks, shared by every verifier of the same
        # root object (signing._cache); extra CAs make another root, with its own cache.
        self._cache = cache_for(trusted_root) if trusted_root and not extra else CheckCache()
        self._require_sct = bool(root.ctlogs) if require_sct is None else require_sct

    # -- public API -------------------------------------------------------------------
    def verify(
        self,
        bundle: Bundle,
        policy: IdentityPolicy,
        *,
        now: datetime | None = None,
        artifact: Digest | None = None,
    ) -> VerifiedAttestation:
        """Check a DSSE ``bundle`` and return its statement with the signer's identity.

        ``artifact``, when given, must be one of the statement's subjects. ``now`` (default:
        the current time) is the signing time of bundles without timestamps or log entries,
        and the bound for integrated times. Raises VerificationError naming the failed check.
        """
        envelope = bundle.dsse_envelope
        if envelope is None:
            raise VerificationError(
                "bundle check failed: a message-signature bundle needs an artifact "
                "(verify_artifact)"
            )
        if envelope.payload_type != PAYLOAD_TYPE:
            raise VerificationError(
                f"payload type check failed: {envelope.payload_type!r} is not {PAYLOAD_TYPE}"
            )
        if len(envelope.signatures) != 1:
            raise VerificationError(
                f"signature check failed: expected one signature, found {len(envelope.signatures)}"
            )
        checks: list[str] = []
        signer, entries, times = self._verify_common(bundle, policy, _utc(now), checks)
        if not verify_signature(signer.key, self._sig(envelope.signatures[0].sig), envelope.pae()):
            raise VerificationError(
                "signature check failed: the DSSE signature does not match the payload"
            )
        checks.append("signature")
        content = SignedContent(
            signature=envelope.signatures[0].sig,
            verifier_der=signer.verifier_der,
            is_certificate=signer.certificate is not None,
            envelope=envelope,
        )
        self._check_bodies(entries, content, checks)
        try:
            statement = Statement.from_envelope(envelope)
        except InvalidInput as err:
            raise VerificationError(f"payload check failed: {err.message}") from None
        checks.append("payload")
        if artifact is not None:
            _check_subject(statement, artifact)
            checks.append("artifact")
        cert_der = (
            signer.certificate.public_bytes(serialization.Encoding.DER)
            if signer.certificate is not None
            else None
        )
        return VerifiedAttestation(
            statement,
            envelope.payload_type,
            signer.identity.identity,
            cert_der,
            issuer=signer.identity.issuer,
            signed_at=tuple(times),
            checks=tuple(checks),
        )

    def verify_artifact(
        self,
        bundle: Bundle,
        artifact: bytes | Digest,
        policy: IdentityPolicy,
        *,
        now: datetime | None = None,
    ) -> VerifiedSignature:
        """Check a message-signature ``bundle`` over ``artifact`` (its bytes or SHA-256).

        Raises VerificationError naming the failed check; an Ed25519 key cannot verify a
        bare digest (it signs the artifact itself).
        """
        message = bundle.message_signature
        if message is None:
            raise VerificationError(
                "bundle check failed: a DSSE bundle is verified with verify(), not as a "
                "message signature"
            )
        if isinstance(artifact, Digest):
            if artifact.algorithm != "sha256":
                raise InvalidInput("the artifact digest must be sha256")
            data, digest = None, bytes.fromhex(artifact.hex)
        else:
            data, digest = artifact, hashlib.sha256(artifact).digest()
        if message.digest is not None and message.digest != digest:
            raise VerificationError(
                "artifact check failed: the bundle's message digest is not the artifact's "
                f"(sha256:{message.digest.hex()} vs sha256:{digest.hex()})"
            )
        checks: list[str] = []
        signer, entries, times = self._verify_common(bundle, policy, _utc(now), checks)
        ok = verify_signature(signer.key, message.signature, digest, digest=hashes.SHA256())
        if not ok and data is not None:
            ok = verify_signature(signer.key, message.signature, data)  # Ed25519
        if not ok:
            raise VerificationError(
                "signature check failed: the message signature does not match the artifact"
            )
        checks.append("signature")
        content = SignedContent(
            signature=message.signature,
            verifier_der=signer.verifier_der,
            is_certificate=signer.certificate is not None,
            digest=digest,
        )
        self._check_bodies(entries, content, checks)
        checks.append("artifact")
        return VerifiedSignature(
            identity=signer.identity.identity,
            issuer=signer.identity.issuer,
            certificate_der=(
                signer.certificate.public_bytes(serialization.Encoding.DER)
                if signer.certificate is not None
                else None
            ),
            signed_at=tuple(times),
            checks=tuple(checks),
        )

    # -- steps ------------------------------------------------------------------------
    def _verify_common(
        self, bundle: Bundle, policy: IdentityPolicy, now: datetime, checks: list[str]
    ) -> tuple[_Signer, list[LogEntry], list[datetime]]:
        entries, times = self._verify_times(bundle, now, checks)
        if bundle.leaf_certificate_der is not None:
            source = "a verified signing time" if times else "now: the bundle has no timestamp"
            at = times or [now]
            if self._chainloop and not times:
                source = chainloop.TIME_SOURCE
                at = [self._certificate(bundle.leaf_certificate_der).not_valid_before_utc]
            signer = self._check_certificate(bundle, at, source, checks)
        else:
            signer = self._find_key(bundle)
            checks.append("key")
        policy.verify(signer.identity)
        checks.append("identity")
        return signer, entries, times

    def _verify_times(
        self, bundle: Bundle, now: datetime, checks: list[str]
    ) -> tuple[list[LogEntry], list[datetime]]:
        from chainproof.signing.logentry import parse_entries

        stamps = [
            b64decode(t.get("signedTimestamp"), "an RFC 3161 timestamp")
            for t in bundle.rfc3161_timestamps
        ]
        signature = self._sig(bundle.signature)
        times = list(
            self._cache.get(
                ("timestamps", tuple(stamps), signature),
                lambda: tuple(verify_timestamps(stamps, signature, self._root)),
            )
        )
        if stamps:
            checks.append("timestamp")
        entries = parse_entries(bundle.tlog_entries)
        if not entries and self._require_tlog:
            raise VerificationError(
                "transparency log check failed: the bundle has no log entry, and the trusted "
                "root lists transparency logs"
            )
        v01 = bundle.media_type == _V01
        skewed = now.timestamp() + _CLOCK_SKEW_SECONDS
        bound = datetime.fromtimestamp(skewed, tz=UTC)
        for entry in entries:
            if v01 and entry.promise is None:
                raise VerificationError(
                    "transparency log check failed: a v0.1 bundle's entry needs a signed entry "
                    "timestamp"
                )
            logged = self._verify_entry(entry, not v01, bound)
            if logged is not None:
                times.append(logged)
            else:
                # Rekor v2: the log vouches for no time; its key must be valid when the
                # timestamps say the signature was made.
                log = self._root.tlog(entry.log_id)
                for moment in times[: len(stamps)]:
                    if log is not None:
                        log.check_valid_at(moment, "transparency log")
        if entries:
            checks.append("transparency log")
        if (entries or stamps) and not times:
            raise VerificationError(
                "timestamp check failed: no verified signing time (the log entry has no signed "
                "entry timestamp and the bundle carries no RFC 3161 timestamp)"
            )
        return entries, times

    def _verify_entry(
        self, entry: LogEntry, require_proof: bool, bound: datetime
    ) -> datetime | None:
        def check() -> datetime | None:
            return verify_entry(entry, self._root, require_proof=require_proof, now=bound)

        logged = self._cache.get(("entry", entry, require_proof), check)
        if logged is not None and logged > bound:
            return check()  # remembered under a later clock: check again, and fail, now
        return logged

    def _certificate(self, der: bytes) -> x509.Certificate:
        return self._cache.get(("certificate", der), lambda: x509.load_der_x509_certificate(der))

    def _check_certificate(
        self, bundle: Bundle, times: list[datetime], source: str, checks: list[str]
    ) -> _Signer:
        der = bundle.leaf_certificate_der or b""
        try:
            leaf = self._certificate(der)
            # NOTE: certificates after the leaf (v0.1/v0.2 chains) must parse but are never
            # trusted: paths end at the trusted root's authorities only. A root among them is
            # tolerated, as sigstore-python does (it warns), since older signers put it there.
            for extra in bundle.certificate_chain_der[1:]:
                self._certificate(extra)
        except ValueError:
            raise VerificationError("certificate check failed: not a DER certificate") from None
        if not self._root.certificate_authorities:
            raise VerificationError(
                "certificate chain check failed: the trusted root lists no certificate authority"
            )
        for moment in times:
            _chain.check_validity(leaf, moment, source)
        checks.append("certificate validity")
        self._cache.get(("profile", der), lambda: _chain.check_leaf_profile(leaf))
        issuer: x509.Certificate | None = None
        authorities = self._root.certificate_authorities
        for moment in times:

            def chain_at(at: datetime = moment) -> tuple[x509.Certificate, ...]:
                check = chainloop.verify_chain if self._chainloop else _chain.verify_chain
                return tuple(check(leaf, authorities, at))

            chain = self._cache.get(("chain", der, moment, self._chainloop), chain_at)
            issuer = chain[0] if chain else None
        checks.append("certificate chain")
        if _has_scts(leaf) or self._require_sct:
            if issuer is None:
                raise VerificationError("SCT check failed: the leaf's issuer is unknown")
            found = issuer
            self._cache.get(
                ("SCT", der, found.public_bytes(serialization.Encoding.DER)),
                lambda: verify_embedded_scts(leaf, found, self._root),
            )
            checks.append("SCT")
        key = leaf.public_key()
        if not isinstance(key, VerifyKey):
            raise VerificationError("certificate check failed: unsupported key type")
        read = chainloop.leaf_identity if self._chainloop else certificate_identity
        identity = self._cache.get(("identity", der, self._chainloop), lambda: read(leaf))
        return _Signer(key, identity, leaf, der)

    def _sig(self, sig: bytes) -> bytes:
        return chainloop.signature_der(sig) if self._chainloop else sig

    def _find_key(self, bundle: Bundle) -> _Signer:
        hint = bundle.public_key_hint or ""
        found = self._keys.get(hint)
        if found is None:
            # Other tools choose their own hints: try the accepted keys. A DSSE signature
            # can be tested here; a message signature needs the artifact, so only a single
            # accepted key is tried (the signature check decides).
            keys = list(self._keys.values())
            if bundle.dsse_envelope is not None:
                found = next((k for k in keys if _signs(k, bundle)), None)
            elif len(keys) == 1:
                found = keys[0]
        if found is None:
            raise VerificationError(
                f"key check failed: the bundle was signed by a key that is not accepted "
                f"(hint {hint!r})",
                hint="register the public key with the organisation, or verify with --key",
            )
        spki = found.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _Signer(found, SignerIdentity(key_hint(found)), None, spki)

    def _check_bodies(
        self, entries: list[LogEntry], content: SignedContent, checks: list[str]
    ) -> None:
        for entry in entries:
            check_body(entry, content)
        if entries:
            checks.append("log entry consistency")


def _signs(key: VerifyKey, bundle: Bundle) -> bool:
    envelope = bundle.dsse_envelope
    if envelope is None or not envelope.signatures:
        return False
    return verify_signature(key, envelope.signatures[0].sig, envelope.pae())


def _has_scts(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
    except x509.ExtensionNotFound:
        return False
    return True


def _check_subject(statement: Statement, artifact: Digest) -> None:
    for subject in statement.subjects:
        value = (subject.get("digest") or {}).get(artifact.algorithm)
        if isinstance(value, str) and value.lower() == artifact.hex:
            return
    raise VerificationError(
        f"artifact check failed: {artifact} is not a subject of the statement",
        hint="the attestation is about other artifacts; check --artifact",
    )
