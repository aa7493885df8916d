"""Organisation-managed CAS backends: provider, settings, sealed credentials, health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow

PROVIDERS = ("fs", "oci", "s3", "azure-blob", "inline")
STATUSES = ("ok", "invalid", "unknown")


class CasBackend(Base):
    """One storage backend of an organisation. ``secret`` is AES-GCM sealed under the
    server's master key (support/sealed.py); ``config`` holds only non-secret settings.
    At most one default and one fallback per organisation (partial unique indexes)."""

    __tablename__ = "cas_backends"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint(
            "provider IN ('fs', 'oci', 's3', 'azure-blob', 'inline')",
            name="ck_cas_backends_provider",
        ),
        CheckConstraint("status IN ('ok', 'invalid', 'unknown')", name="ck_cas_backends_status"),
        CheckConstraint(
            "NOT (is_default AND is_fallback)", name="ck_cas_backends_default_or_fallback"
        ),
        Index(
            "uq_cas_backends_org_id_default",
            "org_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
        Index(
            "uq_cas_backends_org_id_fallback",
            "org_id",
            unique=True,
            sqlite_where=text("is_fallback"),
            postgresql_where=text("is_fallback"),
        ),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    max_blob_size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="unknown")
    status_message: Mapped[str | None] = mapped_column(Text)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
