"""Policies and policy groups an organisation stores, with immutable numbered revisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow


class PolicyRow(Base):
    """A named Policy or PolicyGroup of one organisation; its text lives in the revisions.

    ``kind`` never changes after creation (a contract attaching a policy as a group, or the
    reverse, would otherwise break under it); ``description`` follows the latest revision.
    """

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # Policy | PolicyGroup
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PolicyRevision(Base):
    """One immutable version of a stored document: the text as given and its digest.

    ``digest`` is the parser's (sha256 hex of the UTF-8 text), the one contracts pin with
    ``name@sha256:<hex>``; the same digest may recur when a revision restores older text.
    """

    __tablename__ = "policy_revisions"
    __table_args__ = (UniqueConstraint("policy_id", "revision"),)

    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
