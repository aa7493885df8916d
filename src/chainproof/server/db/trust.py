"""Trust rows: the organisation's service keys, and its transparency log (head, leaves, nodes).

One log per organisation: a shared log would let every tenant's inclusion proofs reveal
other tenants' certificate identities.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow

TRUST_KEY_PURPOSES = ("tlog", "ctlog", "tsa")


class TrustKey(Base):
    """A service key of an organisation: the private key sealed under the server's secret
    key, the public key (and for a TSA its certificate chain) in clear.

    ``valid_until`` NULL marks the current key of its purpose (at most one, enforced by a
    partial unique index, which is also what makes get-or-create safe under concurrency);
    rotated-out keys keep their rows so the trusted root still lists them.
    """

    __tablename__ = "trust_keys"
    __table_args__ = (
        CheckConstraint("purpose IN ('tlog', 'ctlog', 'tsa')", name="ck_trust_keys_purpose"),
        Index(
            "uq_trust_keys_org_id_purpose_current",
            "org_id",
            "purpose",
            unique=True,
            sqlite_where=text("valid_until IS NULL"),
            postgresql_where=text("valid_until IS NULL"),
        ),
    )

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(10))
    key_id: Mapped[bytes] = mapped_column(LargeBinary)  # SHA-256 of the SPKI DER (log ID)
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    cert_chain_pem: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TransparencyLog(Base):
    """The head of an organisation's log: its size, root and right frontier.

    Appends lock this row (``UPDATE`` first, so SQLite takes its write lock too), which
    serialises them per log across processes. ``frontier`` is the concatenated hashes of the
    perfect subtrees that make up the tree, largest (leftmost) first: enough to append a leaf
    and compute the new root without reading any node.
    """

    __tablename__ = "tlog_logs"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    origin: Mapped[str] = mapped_column(String(300))
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TlogLeaf(Base):
    """One logged entry: its index, RFC 6962 leaf hash, canonical body and integrated time."""

    __tablename__ = "tlog_leaves"
    __table_args__ = (UniqueConstraint("log_id", "idx"),)

    log_id: Mapped[str] = mapped_column(ForeignKey("tlog_logs.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(BigInteger)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    integrated_time: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)


class TlogNode(Base):
    """The hash of a perfect subtree: leaves ``[idx * 2**level, (idx + 1) * 2**level)``.

    Level 0 is not stored here (it is the leaf hash). Every proof needs O(log n) of these.
    """

    __tablename__ = "tlog_nodes"
    __table_args__ = (UniqueConstraint("log_id", "level", "idx"),)

    log_id: Mapped[str] = mapped_column(ForeignKey("tlog_logs.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    idx: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
