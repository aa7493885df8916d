"""Figures the dashboard's overview shows beside the organisation totals (:mod:`.overview`):
runs per day, open findings by kind, the most recent policy violations.

Each is one set-based query on an index, whatever the number of runs: runs per day counts
the index ``(org_id, status, created_at)`` over the window only (and, once this process has
counted the settled days, over the last two days only); violations look at the
organisation's newest :data:`VIOLATION_WINDOW` runs only (index ``(org_id, created_at)``),
so an organisation without violations does not make it read its whole history.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, select
from sqlalchemy.orm import Session

from chainproof.core.overview import History, assess
from chainproof.errors import NotFound
from chainproof.server.db import (
    ContractRow,
    Finding,
    PolicyEvaluationRow,
    Project,
    Workflow,
    WorkflowRun,
    WorkflowStats,
)
from chainproof.server.db.base import utcnow
from chainproof.server.services import findings, visibility, workflows
from chainproof.server.support.principal import ADMIN_ROLES, Principal
from chainproof.server.support.times import rfc3339

#: How a run's status counts in the runs-per-day chart (others, e.g. initialized, do not).
CHART_STATUS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "expired": "failed",
    "cancelled": "failed",
    "blocked": "blocked",
}
VIOLATION_WINDOW = 2000
"""How many of the newest runs the recent-violations list looks through."""


SERIES = ("succeeded", "failed", "blocked")
SETTLED_DAYS = 2
"""Days that ended this many days ago or more are settled: their runs finished long since
(a run expires an hour after ``init`` by default), so their counts are kept for a while."""
SETTLED_SECONDS = 600.0
"""How long settled days' counts are kept per process (how stale they may be)."""
_SETTLED_MAX = 512
_settled: OrderedDict[tuple[str, date, date], tuple[float, dict[date, dict[str, int]]]] = (
    OrderedDict()
)
_settled_lock = threading.Lock()


def runs_per_day(
    session: Session, actor: Principal, *, days: int = 30, now: datetime | None = None
) -> list[dict[str, Any]]:
    """``{"day", "succeeded", "failed", "blocked"}`` for each of the last ``days`` UTC days
    (oldest first, today last; days without runs count zero), by when each run started.

    One grouped count on the index ``(org_id, status, created_at)``: over the whole window
    the first time, then, while this process keeps the settled days' counts
    (:data:`SETTLED_SECONDS`), over the last :data:`SETTLED_DAYS` days only."""
    actor.require_reader()
    moment = now or utcnow()
    today = moment.date()
    first = today - timedelta(days=days - 1)
    settled_before = today - timedelta(days=SETTLED_DAYS - 1)
    visible = visibility.visible(actor, Workflow.project_id)
    if visible is not None:  # a person who sees some projects only: counted, never kept
        counts = _count(session, actor.org_id, first, moment, visible)
    else:
        key = (actor.org_id, first, settled_before)
        kept = _kept(key)
        counts = _count(session, actor.org_id, first if kept is None else settled_before, moment)
        if kept is None:
            _keep(key, {d: c for d, c in counts.items() if d < settled_before})
        else:
            counts.update(kept)
    return [
        {"day": d, **{s: counts.get(d, {}).get(s, 0) for s in SERIES}}
        for d in (first + timedelta(days=n) for n in range(days))
    ]


def forget_settled() -> None:
    """Drop every kept count of settled days (the next overview counts its whole window)."""
    with _settled_lock:
        _settled.clear()


def _count(
    session: Session,
    org_id: str,
    first: date,
    moment: datetime,
    visible: ColumnElement[bool] | None = None,
) -> dict[date, dict[str, int]]:
    """Runs per UTC start day from ``first`` on, per chart series (of the projects
    ``visible`` keeps, a clause on ``Workflow.project_id``)."""
    since = datetime(first.year, first.month, first.day, tzinfo=moment.tzinfo)
    col = WorkflowRun.created_at
    is_pg = session.get_bind().dialect.name == "postgresql"
    day = cast(func.timezone("UTC", col), Date) if is_pg else func.date(col)
    stmt = (
        select(day.label("day"), WorkflowRun.status, func.count())
        .where(
            WorkflowRun.org_id == org_id,
            WorkflowRun.status.in_(CHART_STATUS),
            col >= since,
        )
        .group_by(day, WorkflowRun.status)
    )
    if visible is not None:
        stmt = stmt.join(Workflow, Workflow.id == WorkflowRun.workflow_id).where(visible)
    counts: dict[date, dict[str, int]] = {}
    for when, status, count in session.execute(stmt):
        key = when if isinstance(when, date) else date.fromisoformat(str(when))
        bucket = counts.setdefault(key, {})
        series = CHART_STATUS[status]
        bucket[series] = bucket.get(series, 0) + int(count)
    return counts


def _kept(key: tuple[str, date, date]) -> dict[date, dict[str, int]] | None:
    with _settled_lock:
        found = _settled.get(key)
        if found is None or time.monotonic() - found[0] > SETTLED_SECONDS:
            return None
        _settled.move_to_end(key)
        return dict(found[1])


def _keep(key: tuple[str, date, date], counts: dict[date, dict[str, int]]) -> None:
    with _settled_lock:
        _settled[key] = (time.monotonic(), counts)
        _settled.move_to_end(key)
        while len(_settled) > _SETTLED_MAX:
            _settled.popitem(last=False)


def findings_by_kind(session: Session, actor: Principal) -> list[dict[str, Any]]:
    """Open findings of the organisation counted per kind and severity, most first."""
    actor.require_reader()
    count = func.count().label("count")
    stmt = (
        select(Finding.kind, Finding.severity, count)
        .where(Finding.org_id == actor.org_id, Finding.closed_at.is_(None))
        .group_by(Finding.kind, Finding.severity)
        .order_by(count.desc(), Finding.kind)
    )
    visible = visibility.visible(actor, Workflow.project_id)
    if visible is not None:
        stmt = stmt.join(Workflow, Workflow.id == Finding.workflow_id).where(visible)
    return [{"kind": k, "severity": s, "count": c} for k, s, c in session.execute(stmt)]


def recent_violations(
    session: Session, actor: Principal, *, limit: int = 10
) -> list[dict[str, Any]]:
    """The newest runs with a policy violation (among the newest :data:`VIOLATION_WINDOW`),
    each with its workflow and the policies it violated."""
    actor.require_reader()
    window = select(WorkflowRun.id, WorkflowRun.policy_result).where(
        WorkflowRun.org_id == actor.org_id
    )
    visible = visibility.visible(actor, Workflow.project_id)
    if visible is not None:
        window = window.join(Workflow, Workflow.id == WorkflowRun.workflow_id).where(visible)
    newest = (
        window.order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc())
        .limit(VIOLATION_WINDOW)
        .subquery()
    )
    stmt = (
        select(WorkflowRun, Workflow.name, Project.name)
        .join(newest, newest.c.id == WorkflowRun.id)
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .join(Project, Project.id == Workflow.project_id)
        .where(newest.c.policy_result == "violated")
        .order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc())
        .limit(limit)
    )
    rows = list(session.execute(stmt))
    policies = _violated_policies(session, [run.id for run, _, _ in rows])
    return [
        {
            "run_id": run.id,
            "workflow_id": run.workflow_id,
            "workflow": name,
            "project": project,
            "status": run.status,
            "created_at": rfc3339(run.created_at),
            "policies": policies.get(run.id, []),
        }
        for run, name, project in rows
    ]


def _violated_policies(session: Session, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Run id → ``{"policy", "violations"}`` of each evaluation that found violations."""
    if not run_ids:
        return {}
    stmt = (
        select(
            PolicyEvaluationRow.run_id, PolicyEvaluationRow.policy, PolicyEvaluationRow.violations
        )
        .where(PolicyEvaluationRow.run_id.in_(run_ids))
        .order_by(PolicyEvaluationRow.run_id, PolicyEvaluationRow.position)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for run_id, policy, violations in session.execute(stmt):
        if violations:
            messages = [
                str(v.get("message", v)) if isinstance(v, dict) else str(v) for v in violations
            ]
            found.setdefault(run_id, []).append({"policy": policy, "violations": messages})
    return found


def workflow_detail(session: Session, actor: Principal, workflow_id: str) -> dict[str, Any]:
    """One workflow of the organisation by id (NotFound otherwise): its API view, its
    contract's newest revision, its run summary and standing, and its open findings."""
    actor.require_reader()
    wf = session.get(Workflow, workflow_id)
    if wf is None or wf.org_id != actor.org_id:
        raise NotFound(f"workflow {workflow_id} not found", hint="pick one on /workflows")
    actor.require_in_project(wf.project_id, "read", f"workflow {workflow_id}")
    if actor.is_robot:
        actor.check_scope(wf.project_id, wf.id)
    contract = session.get(ContractRow, wf.contract_id)
    newest = contract.latest_revision if contract else 0
    stats = session.get(WorkflowStats, wf.id)
    history = History(
        runs=stats.runs_total if stats else 0,
        recent=stats.recent_statuses if stats else "",
        recent_revisions=stats.recent_revisions if stats else [],
        last_success_revision=stats.last_success_revision if stats else None,
    )
    last_run = None
    if stats is not None and stats.last_run_id:
        last_run = {
            "id": stats.last_run_id,
            "status": stats.last_run_status,
            "created_at": rfc3339(stats.last_run_at),
            "runner_type": stats.last_runner_type,
        }
    open_rows = session.scalars(
        select(Finding)
        .where(Finding.workflow_id == wf.id, Finding.closed_at.is_(None))
        .order_by(Finding.opened_at.desc())
    )
    return {
        **workflows.view(session, wf),
        "contract_revision": newest,
        "runs": history.runs,
        "recent": history.recent,
        "last_run": last_run,
        "state": assess(history, newest),
        "findings": [findings.view(session, f) for f in open_rows],
        # Owners, admins and the project's admins may block it (the service checks again).
        "may_administer": not actor.is_robot and actor.role_in(wf.project_id) in ADMIN_ROLES,
    }
