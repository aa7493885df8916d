"""Drift findings: what the rules of core/drift.py found wrong with a workflow, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime

_OPEN = text("closed_at IS NULL")


class Finding(Base):
    """One finding; at most one open per workflow and kind (a partial unique index)."""

    __tablename__ = "findings"
    __table_args__ = (
        Index(
            "uq_findings_open_workflow_kind",
            "workflow_id",
            "kind",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_findings_org_id_opened_at", "org_id", "opened_at"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The run ids that show the finding (the latest evaluation's).
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: What the rule saw, e.g. what regressed (the latest evaluation's).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The token name of who acknowledged it.
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_reason: Mapped[str | None] = mapped_column(Text)
