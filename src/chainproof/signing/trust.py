"""The organisation's trusted root, in Sigstore's ``trusted_root.json`` shape (v0.1).

protobuf-specs ``dev.sigstore.trustroot.v1.TrustedRoot`` (JSON names): chainproof fills
``certificateAuthorities`` (its CAs, rotated ones with an end to their validity),
``timestampAuthorities`` (its RFC 3161 TSA chains), ``tlogs`` (its transparency-log keys) and
``ctlogs`` (its CT-log keys), each log named by its log ID, SHA-256 of the key's DER
SubjectPublicKeyInfo, as Sigstore computes it.

:class:`TrustedRoot` reads any such document (ours, Sigstore's public-good one, a test
instance's) for the verifier: certificate authorities, transparency logs, CT logs and
timestamp authorities, each with its validity window. sigstore-python has a parser too, but
it costs a third of a second to import and its objects are private; this one needs only
``cryptography``. :meth:`TrustedRoot.public_good` reads the copy of Sigstore's production
root that sigstore-python ships inside its package, so it works offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chainproof.core import jsonload
from chainproof.core.dsse import b64decode, b64encode
from chainproof.errors import InvalidInput, VerificationError
from chainproof.signing._keys import VerifyKey, load_verify_key
from chainproof.signing.ca import DEFAULT_ISSUER

__all__ = [
    "MEDIA_TYPE",
    "Authority",
    "AuthorityChain",
    "LogInstance",
    "LogKey",
    "TrustedRoot",
    "Validity",
    "ca_certs_from_trusted_root",
    "trusted_root_json",
]

MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AuthorityChain:
    """A certificate chain to list in a trusted root (PEM, leaf or intermediate first, root
    last) and its validity window: ``end`` None means still in use. A rotated authority keeps
    its entry, with ``end`` set to the rotation time, so what it signed before still verifies.
    """

    chain_pem: Sequence[bytes]
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class LogInstance:
    """A transparency or CT log to publish: where it lives, its ECDSA P-256 public key (DER
    SubjectPublicKeyInfo) and the window in which the key signs."""

    base_url: str
    public_key_der: bytes
    start: datetime
    end: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The protobuf-specs ``TransparencyLogInstance`` JSON form."""
        valid: dict[str, str] = {"start": _ts(self.start)}
        if self.end is not None:
            valid["end"] = _ts(self.end)
        return {
            "baseUrl": self.base_url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64encode(self.public_key_der),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": valid,
            },
            "logId": {"keyId": b64encode(hashlib.sha256(self.public_key_der).digest())},
        }


def _authority_json(entry: AuthorityChain, uri: str, what: str) -> dict[str, Any]:
    try:
        chain = [x509.load_pem_x509_certificate(pem) for pem in entry.chain_pem]
    except ValueError:
        raise InvalidInput(f"a {what} certificate of the trusted root is not PEM") from None
    if not chain:
        raise InvalidInput(f"a {what} of the trusted root has no certificates")
    # The subject names the authority as its root certificate does (as Sigstore's roots do).
    subject = chain[-1].subject
    org = subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    common = subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    valid_for = {"start": _ts(entry.start)}
    if entry.end is not None:
        valid_for["end"] = _ts(entry.end)
    return {
        "subject": {
            "organization": str(org[0].value) if org else "",
            "commonName": str(common[0].value) if common else "",
        },
        "uri": uri,
        "certChain": {
            "certificates": [
                {"rawBytes": b64encode(c.public_bytes(serialization.Encoding.DER))} for c in chain
            ]
        },
        "validFor": valid_for,
    }


def trusted_root_json(
    ca_certs_pem: Sequence[bytes | AuthorityChain],
    *,
    start: datetime,
    uri: str = DEFAULT_ISSUER,
    timestamp_authorities: Sequence[AuthorityChain] = (),
    tsa_uri: str = "",
    tlogs: Sequence[LogInstance] = (),
    ctlogs: Sequence[LogInstance] = (),
) -> dict[str, Any]:
    """A trusted root listing each CA as one certificate authority, each timestamp
    authority chain as one ``timestampAuthorities`` entry, and the given transparency logs
    and CT logs.

    A CA given as PEM bytes is a root certificate alone, valid from ``start`` with no end;
    an :class:`AuthorityChain` brings its own chain and window. ``uri`` names the issuing
    service, ``tsa_uri`` the timestamp service. Raises InvalidInput for a PEM that does not
    parse or an empty chain.
    """
    authorities = [
        _authority_json(
            entry if isinstance(entry, AuthorityChain) else AuthorityChain([entry], start),
            uri,
            "CA",
        )
        for entry in ca_certs_pem
    ]
    tsas = [
        _authority_json(entry, tsa_uri, "timestamp authority") for entry in timestamp_authorities
    ]
    return {
        "mediaType": MEDIA_TYPE,
        "tlogs": [t.to_json() for t in tlogs],
        "certificateAuthorities": authorities,
        "ctlogs": [c.to_json() for c in ctlogs],
        "timestampAuthorities": tsas,
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


# -- reading trusted roots ------------------------------------------------------------------
MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024
# NOTE: sigstore-python ships the production trusted root (as of its release) in its package,
# under the URL-quoted name of the TUF repository it came from (sigstore/_utils.read_embedded).
_PUBLIC_GOOD_PACKAGE = "sigstore._store"
_PUBLIC_GOOD_DIR = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"


def _time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"the trusted root's {what} is not an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"the trusted root's {what} is not an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Validity:
    """A validity window (protobuf-specs ``TimeRange``); ``end`` None means open-ended.

    Both ends are inclusive, as the conformance vectors ``trust-root-*-validity-end-inclusive``
    require. ``start`` None marks a malformed entry that is valid at no time.
    """

    start: datetime | None
    end: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside the window."""
        if self.start is None or moment < self.start:
            return False
        return self.end is None or moment <= self.end

    def describe(self) -> str:
        """The window for messages: ``START to END``."""
        if self.start is None:
            return "no validity start"
        end = _fmt(self.end) if self.end else "open end"
        return f"{_fmt(self.start)} to {end}"

    @classmethod
    def from_dict(cls, data: Any) -> Validity:
        """Parse ``validFor``; a missing one or missing ``start`` gives a never-valid window."""
        if not isinstance(data, Mapping) or data.get("start") is None:
            return cls(None, None)
        end = data.get("end")
        return cls(
            _time(data["start"], "validFor.start"), _time(end, "validFor.end") if end else None
        )


@dataclass(frozen=True)
class LogKey:
    """A transparency or CT log: its key, the key's ID (log ID) and validity window."""

    key_id: bytes
    key: VerifyKey
    base_url: str
    validity: Validity

    def check_valid_at(self, moment: datetime, what: str) -> None:
        """Raise VerificationError (``{what} check failed``) unless the key is valid then."""
        if not self.validity.contains(moment):
            raise VerificationError(
                f"{what} check failed: the key of log {self.base_url or self.key_id.hex()} is "
                f"not valid at {_fmt(moment)} (trusted {self.validity.describe()})"
            )


@dataclass(frozen=True)
class Authority:
    """A certificate or timestamp authority: its certificate chain (leaf or intermediate
    first, root last) and validity window."""

    uri: str
    chain: tuple[x509.Certificate, ...]
    validity: Validity


def _log_keys(items: Any, what: str) -> tuple[LogKey, ...]:
    out = []
    for item in items or []:
        if not isinstance(item, Mapping):
            raise InvalidInput(f"the trusted root's {what} entries must be objects")
        key = item.get("publicKey") or {}
        log_id = (item.get("logId") or {}).get("keyId")
        if not isinstance(key, Mapping) or not log_id or not key.get("rawBytes"):
            raise InvalidInput(f"a {what} entry of the trusted root has no key or log ID")
        try:
            loaded = load_verify_key(b64decode(key["rawBytes"], f"a {what} key"))
        except ValueError:
            continue  # a key type chainproof cannot use: that log is simply not trusted
        out.append(
            LogKey(
                key_id=b64decode(log_id, f"a {what} log ID"),
                key=loaded,
                base_url=str(item.get("baseUrl") or ""),
                validity=Validity.from_dict(key.get("validFor")),
            )
        )
    return tuple(out)


def _authorities(items: Any, what: str) -> tuple[Authority, ...]:
    out = []
    for item in items or []:
        if not isinstance(item, Mapping):
            raise InvalidInput(f"the trusted root's {what} entries must be objects")
        certs = (item.get("certChain") or {}).get("certificates") or []
        try:
            chain = tuple(
                x509.load_der_x509_certificate(b64decode(c["rawBytes"], f"a {what} certificate"))
                for c in certs
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(f"a {what} certificate of the trusted root is malformed") from None
        if not chain:
            raise InvalidInput(f"a {what} of the trusted root has no certificates")
        out.append(
            Authority(
                uri=str(item.get("uri") or ""),
                chain=chain,
                validity=Validity.from_dict(item.get("validFor")),
            )
        )
    return tuple(out)


class TrustedRoot:
    """A parsed Sigstore trusted root: what a verifier trusts, each with a validity window.

    Build with :meth:`from_json`, :meth:`from_file`, :meth:`public_good` or :meth:`empty`.
    """

    def __init__(
        self,
        *,
        certificate_authorities: Sequence[Authority] = (),
        tlogs: Sequence[LogKey] = (),
        ctlogs: Sequence[LogKey] = (),
        timestamp_authorities: Sequence[Authority] = (),
    ) -> None:
        self.certificate_authorities = tuple(certificate_authorities)
        self.tlogs = tuple(tlogs)
        self.ctlogs = tuple(ctlogs)
        self.timestamp_authorities = tuple(timestamp_authorities)

    @classmethod
    def empty(cls) -> TrustedRoot:
        """A root that trusts nothing (for bundles checked against a key alone)."""
        return cls()

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> TrustedRoot:
        """Parse ``trusted_root.json``; InvalidInput when it is not a v0.1 trusted root.

        Keys of a type chainproof does not verify with are left out (their logs are not
        trusted); malformed certificates, times and base64 are errors.
        """
        if isinstance(data, str | bytes):
            if len(data) > MAX_TRUSTED_ROOT_BYTES:
                raise InvalidInput("the trusted root is too large")
            try:
                data = jsonload.loads(data)
            except (ValueError, UnicodeDecodeError):
                raise InvalidInput("the trusted root is not JSON") from None
        if not isinstance(data, Mapping) or data.get("mediaType") != MEDIA_TYPE:
            raise InvalidInput(f"not a trusted root ({MEDIA_TYPE})")
        return cls(
            certificate_authorities=_authorities(
                data.get("certificateAuthorities"), "certificate authority"
            ),
            tlogs=_log_keys(data.get("tlogs"), "transparency log"),
            ctlogs=_log_keys(data.get("ctlogs"), "CT log"),
            timestamp_authorities=_authorities(
                data.get("timestampAuthorities"), "timestamp authority"
            ),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> TrustedRoot:
        """Read and parse a ``trusted_root.json`` file (InvalidInput if unreadable)."""
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise InvalidInput(f"cannot read the trusted root {path}: {err.strerror}") from None
        return cls.from_json(data)

    @classmethod
    def public_good(cls) -> TrustedRoot:
        """Sigstore's public-good production root, as shipped in sigstore-python (offline).

        It is the root of the sigstore-python release installed, not a TUF-refreshed one:
        keys that Sigstore added since are missing. Raises InvalidInput when sigstore-python
        (the ``public-good`` extra) is not installed.
        """
        from importlib import resources

        from chainproof.extras import require

        require("sigstore", "public-good", needed_by="verify --public-good", error=InvalidInput)
        try:
            data = (
                resources.files(_PUBLIC_GOOD_PACKAGE)
                .joinpath(_PUBLIC_GOOD_DIR, "trusted_root.json")
                .read_bytes()
            )
        except (ModuleNotFoundError, FileNotFoundError):
            raise InvalidInput(
                "Sigstore's public-good trusted root is not in the installed sigstore package",
                hint="reinstall sigstore (pip install --force-reinstall sigstore) or pass "
                "--trusted-root",
            ) from None
        return cls.from_json(data)

    def tlog(self, key_id: bytes) -> LogKey | None:
        """The transparency log with this log ID, or None."""
        return next((t for t in self.tlogs if t.key_id == key_id), None)

    def ctlog(self, key_id: bytes) -> LogKey | None:
        """The CT log with this log ID, or None."""
        return next((t for t in self.ctlogs if t.key_id == key_id), None)
