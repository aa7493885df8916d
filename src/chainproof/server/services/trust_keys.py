"""Custody of the organisation's service keys: the transparency log's, the CT log's, the TSA's.

Each organisation has one current key per purpose (``tlog`` signs checkpoints and signed
entry timestamps, ``ctlog`` signs the SCTs embedded in certificates, ``tsa`` signs RFC 3161
timestamps). Keys are ECDSA P-256, created on first use. The private key is sealed with
AES-256-GCM under the server's secret key (support/sealed.py), bound to its row; the public
key is stored in clear with its key ID (SHA-256 of the DER SubjectPublicKeyInfo, which is
how Sigstore names logs). A rotated-out key keeps its row with ``valid_until`` set, so the
trusted root keeps vouching for what it signed while it was current.

Get-or-create is safe between processes: a partial unique index allows one current key per
(organisation, purpose); the loser of a race rolls back its savepoint and reads the winner's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainproof.errors import InvalidInput, ServiceError
from chainproof.server.db import TrustKey
from chainproof.server.db.base import new_id, utcnow
from chainproof.server.db.trust import TRUST_KEY_PURPOSES
from chainproof.server.services import audit, trust_cache
from chainproof.server.support import sealed

if TYPE_CHECKING:
    from chainproof.signing.tsa import TimestampAuthority

__all__ = ["ServiceKey", "all_keys", "chain_pem", "current_key", "rotate", "tsa"]

_SEAL_PURPOSE = b"chainproof trust key v1:"

# Makes the key of a purpose whose key comes with a certificate chain (the TSA): the private
# key and its chain (PEM, leaf first). Other purposes get a fresh P-256 key and no chain.
KeyFactory = Callable[[], tuple[ec.EllipticCurvePrivateKey, list[bytes]]]


@dataclass(frozen=True)
class ServiceKey:
    """An unsealed service key: its row, private key, public key DER and key ID."""

    row_id: str
    purpose: str
    private_key: ec.EllipticCurvePrivateKey
    public_key_der: bytes
    key_id: bytes
    valid_from: datetime
    cert_chain_pem: str | None = None


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_purpose(purpose: str) -> None:
    if purpose not in TRUST_KEY_PURPOSES:
        raise InvalidInput(f"unknown trust key purpose {purpose!r}")


def _unseal(row: TrustKey, secret: str) -> ServiceKey:
    plain = sealed.unseal(
        secret,
        _SEAL_PURPOSE + row.purpose.encode(),
        row.sealed_private_key,
        row.id,
        f"{row.purpose} key",
    )
    key = serialization.load_der_private_key(plain, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or _spki(key) != row.public_key_der:
        raise ServiceError(f"the stored {row.purpose} key does not match its public key")
    return ServiceKey(
        row_id=row.id,
        purpose=row.purpose,
        private_key=key,
        public_key_der=row.public_key_der,
        key_id=row.key_id,
        valid_from=row.valid_from,
        cert_chain_pem=row.cert_chain_pem,
    )


def _current_row(session: Session, org_id: str, purpose: str) -> TrustKey | None:
    return session.scalar(
        select(TrustKey).where(
            TrustKey.org_id == org_id,
            TrustKey.purpose == purpose,
            TrustKey.valid_until.is_(None),
        )
    )


def _new_row(
    org_id: str, purpose: str, secret: str, now: datetime, make: KeyFactory | None
) -> TrustKey:
    if make is None:
        key, pems = ec.generate_private_key(ec.SECP256R1()), None
    else:
        key, pems = make()
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    row_id = new_id()
    spki = _spki(key)
    return TrustKey(
        id=row_id,
        org_id=org_id,
        purpose=purpose,
        key_id=hashlib.sha256(spki).digest(),
        public_key_der=spki,
        sealed_private_key=sealed.seal(secret, _SEAL_PURPOSE + purpose.encode(), der, row_id),
        cert_chain_pem="".join(p.decode() for p in pems) if pems else None,
        # Whole seconds: RFC 3161 times and log times are whole seconds, and a timestamp
        # made in the key's first second must not fall before its window.
        valid_from=now.replace(microsecond=0),
        created_at=now,
    )


def current_key(
    session: Session,
    org_id: str,
    purpose: str,
    *,
    make: KeyFactory | None = None,
    now: datetime | None = None,
) -> ServiceKey:
    """The organisation's current key for ``purpose``, created (and audited) on first use.

    ``make`` makes a new key with its certificate chain (TSA). Raises ServiceError when the
    sealed key does not open under the server's secret key.
    """
    _check_purpose(purpose)
    secret = sealed.server_secret(session)
    cached = trust_cache.material(session, org_id)
    if cached is not None:
        key: ServiceKey | None = cached.get(
            f"key:{purpose}", lambda: _current_key_or_none(session, org_id, purpose, secret)
        )
        if key is not None:
            return key
    row = _current_row(session, org_id, purpose)
    if row is None:
        candidate = _new_row(org_id, purpose, secret, now or utcnow(), make)
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
        except IntegrityError:
            # Another process created it first: the unique index chose the winner.
            row = _current_row(session, org_id, purpose)
            if row is None:  # pragma: no cover - the index guarantees a row
                raise
        else:
            row = candidate
            audit.record(session, org_id, None, f"trust_key.create.{purpose}", row.id)
        trust_cache.forget(session)
    return _unseal(row, secret)


def _current_key_or_none(
    session: Session, org_id: str, purpose: str, secret: str
) -> ServiceKey | None:
    row = _current_row(session, org_id, purpose)
    return None if row is None else _unseal(row, secret)


def rotate(
    session: Session,
    org_id: str,
    purpose: str,
    *,
    make: KeyFactory | None = None,
    now: datetime | None = None,
) -> ServiceKey:
    """End the current key of ``purpose`` now and make a new one current.

    The old key stays in the trusted root with its window closed, so what it signed still
    verifies. (For ``tlog`` a new key means a new log: callers start a new log head.)
    """
    _check_purpose(purpose)
    secret = sealed.server_secret(session)
    now = now or utcnow()
    old = _current_row(session, org_id, purpose)
    if old is not None:
        old.valid_until = now
        session.flush()
    row = _new_row(org_id, purpose, secret, now, make)
    session.add(row)
    session.flush()
    trust_cache.forget(session)
    audit.record(session, org_id, None, f"trust_key.rotate.{purpose}", row.id)
    return _unseal(row, secret)


def all_keys(session: Session, org_id: str, purpose: str) -> list[TrustKey]:
    """Every key of ``purpose`` the organisation has had, oldest first (for the root)."""
    _check_purpose(purpose)
    stmt = (
        select(TrustKey)
        .where(TrustKey.org_id == org_id, TrustKey.purpose == purpose)
        .order_by(TrustKey.valid_from, TrustKey.created_at)
    )
    return list(session.scalars(stmt))


def chain_pem(row: TrustKey) -> list[bytes]:
    """The certificate chain of a key row (PEM certificates, leaf first); empty if none."""
    return _certs(row.cert_chain_pem)


def _certs(text: str | None) -> list[bytes]:
    if not text:
        return []
    certs = x509.load_pem_x509_certificates(text.encode())
    return [c.public_bytes(serialization.Encoding.PEM) for c in certs]


def tsa(
    session: Session, org_id: str, org_name: str, *, now: datetime | None = None
) -> TimestampAuthority:
    """The organisation's RFC 3161 timestamp authority (key and chain created on first use)."""
    from chainproof.signing.tsa import TimestampAuthority

    def make() -> tuple[ec.EllipticCurvePrivateKey, list[bytes]]:
        created = TimestampAuthority.create(org_name, now=now)
        key = serialization.load_pem_private_key(created.key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)  # the TSA's key is P-256
        return key, list(created.chain_pem)

    current = current_key(session, org_id, "tsa", make=make, now=now)

    def build() -> TimestampAuthority:
        certs = [x509.load_pem_x509_certificate(p) for p in _certs(current.cert_chain_pem)]
        return TimestampAuthority(certs, current.private_key)

    cached = trust_cache.material(session, org_id)
    made: TimestampAuthority = build() if cached is None else cached.get("tsa", build)
    return made
