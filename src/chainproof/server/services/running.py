"""Runs in progress: a rename waits for them, as their signing identity names the
project and workflow (``chainproof://org/project/workflow/runs/id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict
from chainproof.server.db import WorkflowRun
from chainproof.server.db.base import utcnow


def refuse_rename(
    session: Session, workflow_ids: list[str], what: str, now: datetime | None = None
) -> None:
    """Conflict while any of the workflows has a run in progress (initialized, not expired)."""
    now = now or utcnow()
    running = session.scalar(
        select(func.count())
        .select_from(WorkflowRun)
        .where(
            WorkflowRun.workflow_id.in_(workflow_ids),
            WorkflowRun.status == "initialized",
            WorkflowRun.expires_at > now,
        )
    )
    if running:
        raise Conflict(
            f"{what} has {running} run(s) in progress: their signing identity names it",
            hint="rename once they are pushed, reset or expired",
            in_progress=running,
        )
