"""Blocks: an owner or admin stops a workflow, or every workflow of a project, with a reason.

A blocked workflow refuses ``attestation init`` and the push of a run that was already in
progress when the block came (:mod:`.push` marks that run failed). The row keeps who blocked
it, when and why while the block lasts; the audit log keeps every block and unblock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from chainproof.errors import Blocked, Conflict, InvalidInput
from chainproof.server.db import Project, Workflow, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

MAX_REASON = 2000


def block(
    row: Workflow | Project, actor: Principal, reason: str, now: datetime | None = None
) -> None:
    """Mark ``row`` blocked by ``actor``; InvalidInput without a reason, Conflict when it
    is blocked already (the first block's reason stands until an unblock)."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(
            "a block needs a reason", hint=f"pass --reason (1 to {MAX_REASON} characters)"
        )
    if row.blocked:
        raise Conflict(
            f"{_describe(row)} is already blocked: {row.blocked_reason or 'no reason given'}",
            hint="unblock it first to block it with another reason",
        )
    mark(row, actor, reason, now)


def mark(
    row: Workflow | Project, actor: Principal, reason: str | None, now: datetime | None = None
) -> None:
    """Set the block fields without checks (``workflow update --blocked`` uses it too)."""
    row.blocked = True
    row.blocked_reason = reason
    row.blocked_by = actor.token_name
    row.blocked_at = now or utcnow()


def unblock(row: Workflow | Project) -> dict[str, Any]:
    """Lift the block; the block it lifted (for the audit); Conflict when not blocked."""
    if not row.blocked:
        raise Conflict(f"{_describe(row)} is not blocked")
    lifted = detail(row, scope=_scope(row)) or {}
    clear(row)
    return lifted


def clear(row: Workflow | Project) -> None:
    """Clear the block fields without checks."""
    row.blocked = False
    row.blocked_reason = row.blocked_by = None
    row.blocked_at = None


def detail(row: Workflow | Project, *, scope: str) -> dict[str, Any] | None:
    """``{"scope","reason","by","at"}`` while ``row`` is blocked, else None."""
    if not row.blocked:
        return None
    return {
        "scope": scope,
        "reason": row.blocked_reason,
        "by": row.blocked_by,
        "at": rfc3339(row.blocked_at),
    }


def effective(session: Session, wf: Workflow) -> dict[str, Any] | None:
    """What blocks ``wf``: its own block, else its project's, else None."""
    own = detail(wf, scope="workflow")
    if own is not None:
        return own
    project = session.get(Project, wf.project_id)
    return detail(project, scope="project") if project is not None else None


def refusal(session: Session, wf: Workflow) -> Blocked | None:
    """The error a run of ``wf`` meets while it (or its project) is blocked, else None."""
    block_ = effective(session, wf)
    if block_ is None:
        return None
    project = session.get(Project, wf.project_id)
    project_name = project.name if project else "?"
    if block_["scope"] == "project":
        what, unblock_cmd = (
            f"project {project_name}",
            f"chainproof project unblock --name {project_name}",
        )
    else:
        what, unblock_cmd = (
            f"workflow {project_name}/{wf.name}",
            f"chainproof workflow unblock --name {wf.name} --project {project_name}",
        )
    reason = block_["reason"] or "no reason given"
    return Blocked(
        f"{what} is blocked: {reason} (by {block_['by'] or 'unknown'} at {block_['at']})",
        hint=f"an owner or admin can unblock it with `{unblock_cmd}`",
        scope=block_["scope"],
        reason=block_["reason"],
        blocked_by=block_["by"],
        blocked_at=block_["at"],
    )


def fail_pending(
    session: Session, actor: Principal, run: WorkflowRun, now: datetime
) -> Blocked | None:
    """Fail a run whose push comes while its workflow (or project) is blocked, recording the
    block's reason on it and in the audit log; the error to answer with, else None."""
    wf = session.get(Workflow, run.workflow_id)
    assert wf is not None
    refused = refusal(session, wf)
    if refused is None:
        return None
    run.status = "failed"
    reason = refused.details.get("reason") or "no reason given"
    run.reason = f"{refused.details['scope']} blocked: {reason}"[:MAX_REASON]
    run.finished_at = now
    audit.record(session, actor.org_id, actor, "run.refused", run.id, reason=refused.message)
    return refused


def _scope(row: Workflow | Project) -> str:
    return "workflow" if isinstance(row, Workflow) else "project"


def _describe(row: Workflow | Project) -> str:
    return f"{_scope(row)} {row.name!r}"
