"""Per-process cache of an organisation's trusted material: its unsealed service keys, its
issuing CA, its TSA and its trusted root (issue 16: every push read them row by row, a dozen
statements, and rebuilt the root).

**Correctness never rests on a TTL.** Each transaction that needs the material first reads
its *fingerprint*, one small query: the id and open/closed state of each of the
organisation's trust keys and signing CAs (and whether a CA's key is sealed). Rotation (of a
CA or a service key) adds a row and closes or supersedes another, so the fingerprint changes
in the same commit; any process, reading it in its next transaction, sees the change and
rebuilds. A process therefore never signs or verifies with material older than what its own
transaction can read from the database, exactly as without the cache. Within one
transaction the fingerprint is read once (memoised in ``Session.info``), and dropped by
:func:`forget` when the transaction itself creates or rotates a key.

The cache lives in the app's sessionmaker's ``Session.info`` (server/app.py puts one there),
so each app, with its own database and secret key, has its own; sessions made without it
read the database every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, literal, select, union_all
from sqlalchemy.orm import Session

from chainproof.server.db import SigningCA, TrustKey

#: How services/signing.py marks a sealed CA key (kept here: signing imports this module).
SEALED_PREFIX = "sealed:v1:"

__all__ = ["CACHE_INFO", "Material", "TrustCache", "forget", "material"]

#: ``Session.info`` key of the process's :class:`TrustCache` (set by make_sessionmaker).
CACHE_INFO = "chainproof.trust_cache"
_MEMO_INFO = "chainproof.trust_cache.memo"

Fingerprint = frozenset[tuple[str, str, bool]]


@dataclass
class Material:
    """One organisation's trusted material at one fingerprint; parts are built on first use
    (under its lock, so once) and never change afterwards. Parts are plain values (keys,
    certificates, JSON), never ORM rows bound to a session."""

    fingerprint: Fingerprint
    _parts: dict[str, Any] = field(default_factory=dict)
    # Re-entrant: building the root gets the keys, parts of the same material.
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def get(self, name: str, build: Callable[[], Any]) -> Any:
        """The part ``name``, built by ``build`` the first time."""
        if name in self._parts:
            return self._parts[name]
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]


class TrustCache:
    """Each organisation's :class:`Material` at its last seen fingerprint."""

    def __init__(self) -> None:
        self._by_org: dict[str, Material] = {}
        self._lock = threading.Lock()

    def at(self, org_id: str, fingerprint: Fingerprint) -> Material:
        """The material of ``org_id`` at ``fingerprint`` (a new, empty one if it changed)."""
        with self._lock:
            found = self._by_org.get(org_id)
            if found is None or found.fingerprint != fingerprint:
                found = Material(fingerprint)
                self._by_org[org_id] = found
            return found


def _fingerprint(session: Session, org_id: str) -> Fingerprint:
    keys = select(literal("k"), TrustKey.id, TrustKey.valid_until.is_(None)).where(
        TrustKey.org_id == org_id
    )
    # A CA row whose key an older install stored in clear changes the fingerprint too: the
    # rebuild opens, and so seals, it (services/signing.py).
    usable = and_(SigningCA.active, SigningCA.key_pem.startswith(SEALED_PREFIX))
    cas = select(literal("c"), SigningCA.id, usable).where(SigningCA.org_id == org_id)
    rows = session.execute(union_all(keys, cas))
    return frozenset((str(kind), str(row_id), bool(open_)) for kind, row_id, open_ in rows)


def material(session: Session, org_id: str) -> Material | None:
    """The organisation's cached material, checked against the database in this transaction
    (once per transaction); None when the session carries no cache."""
    cache = session.info.get(CACHE_INFO)
    if not isinstance(cache, TrustCache):
        return None
    transaction = session.get_transaction()
    memo = session.info.get(_MEMO_INFO)
    if memo is not None and memo[0] is transaction and memo[1] == org_id:
        return memo[2]  # type: ignore[no-any-return]
    found = cache.at(org_id, _fingerprint(session, org_id))
    session.info[_MEMO_INFO] = (transaction, org_id, found)
    return found


def forget(session: Session) -> None:
    """This transaction created or rotated trusted material: read the fingerprint again."""
    session.info.pop(_MEMO_INFO, None)
