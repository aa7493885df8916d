"""Per-workflow run summaries, kept up to date as runs change state (see
:mod:`chainproof.server.services.workflow_stats`), so the overview never scans runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow


class WorkflowStats(Base):
    """One row per workflow that has had a run; its ``id`` is the workflow's id.

    ``recent_statuses`` holds the outcomes of the last finished runs, newest first, one
    letter each (``s`` succeeded, ``v`` succeeded with a policy violation, ``b`` blocked,
    ``f`` failed, ``c`` cancelled, ``e`` expired); ``recent_revisions`` the contract revision
    number of each of those runs, in the same order.
    """

    __tablename__ = "workflow_stats"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), unique=True
    )
    last_run_id: Mapped[str | None] = mapped_column(String(36))
    last_run_status: Mapped[str | None] = mapped_column(String(20))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_runner_type: Mapped[str | None] = mapped_column(String(50))
    last_success_run_id: Mapped[str | None] = mapped_column(String(36))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_revision: Mapped[int | None] = mapped_column(Integer)
    runs_total: Mapped[int] = mapped_column(Integer, default=0)
    runs_initialized: Mapped[int] = mapped_column(Integer, default=0)
    runs_succeeded: Mapped[int] = mapped_column(Integer, default=0)
    runs_blocked: Mapped[int] = mapped_column(Integer, default=0)
    runs_failed: Mapped[int] = mapped_column(Integer, default=0)
    runs_cancelled: Mapped[int] = mapped_column(Integer, default=0)
    runs_expired: Mapped[int] = mapped_column(Integer, default=0)
    recent_statuses: Mapped[str] = mapped_column(String(20), default="")
    recent_revisions: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: The contract revision of the latest finished run (``recent_revisions[0]``), so that
    #: the overview's totals are one SQL aggregate.
    last_finished_revision: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
