"""The declarative base: UUID string primary keys, UTC timestamps, a readable repr."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A fresh UUID string."""
    return str(uuid.uuid4())


def ordered_id() -> str:
    """A fresh time-ordered UUID string (version 7, RFC 9562: 48 bits of Unix milliseconds,
    then random bits). Rows written in bulk get ids that sort by time, so their primary-key
    index grows at its right edge instead of touching a random leaf page per row (the discover
    index writes millions: docs/discover.md, "Performance")."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return str(uuid.UUID(int=value))


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Every table: ``id`` is a UUID string."""

    metadata = MetaData(naming_convention=NAMING)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)

    def __repr__(self) -> str:
        name = getattr(self, "name", None)
        extra = f" name={name!r}" if name is not None else ""
        return f"<{type(self).__name__} id={self.id}{extra}>"

    def _cols(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}
