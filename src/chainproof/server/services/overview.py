"""The organisation at a glance: totals, then per project and workflow its owner, contract,
last run, compliance and standing (:mod:`chainproof.core.overview` defines each term).

It reads the per-workflow summaries (:mod:`.workflow_stats`), never the runs, in three
queries whatever the number of runs: the organisation's contracts (whether each requires
nothing is cached per immutable revision), the totals as one SQL aggregate, and one page of
workflows in project and workflow name order. Pages are keyset pages: the cursor names the
last workflow shown (project, name, id), so workflows added or archived meanwhile neither
repeat nor shift the next page, and a deep page costs what the first does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from chainproof.core.overview import FAILING_RUNS, RECENT, History, assess, requires_nothing
from chainproof.errors import InvalidInput
from chainproof.server.db import (
    ContractRevision,
    ContractRow,
    Finding,
    Project,
    Workflow,
    WorkflowStats,
)
from chainproof.server.services import visibility
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

TOTALS = ("workflows", "integrated", "compliant", "lagging", "failing", "unmanaged", "blocked")
#: The standings a page of workflows can be narrowed to.
STATUSES = TOTALS[1:]
_EMPTY_BY_REVISION: dict[str, bool] = {}  # revision id → requires nothing (revisions never change)
_S = WorkflowStats


def open_findings(
    session: Session, org_id: str, visible: ColumnElement[bool] | None = None
) -> Mapping[str, int]:
    """Open findings per workflow id (one grouped count), for the ``open_findings`` fields;
    ``visible``: a clause on ``Workflow.project_id`` keeping the projects a person sees."""
    stmt = (
        select(Finding.workflow_id, func.count())
        .where(Finding.org_id == org_id, Finding.closed_at.is_(None))
        .group_by(Finding.workflow_id)
    )
    if visible is not None:
        stmt = stmt.join(Workflow, Workflow.id == Finding.workflow_id).where(visible)
    return {workflow_id: count for workflow_id, count in session.execute(stmt)}


def _blocked() -> ColumnElement[bool]:
    """A workflow is blocked by itself or by its project."""
    return or_(Workflow.blocked.is_(True), Project.blocked.is_(True))


def overview(
    session: Session,
    actor: Principal,
    *,
    project: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
    status: str | None = None,
    with_totals: bool = True,
) -> dict[str, Any]:
    """Totals over the organisation (or ``project``), and a page of its workflows (only those
    with standing ``status``, one of :data:`STATUSES`, when given); ``totals`` None without
    ``with_totals`` (a page that does not show them spares their aggregate)."""
    actor.require_reader()
    if limit < 1 or limit > pagination.MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {pagination.MAX_LIMIT}")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}", hint="one of " + ", ".join(STATUSES))
    contracts = _contracts(session, actor.org_id)
    unmanaged = [cid for cid, (_, _, empty) in contracts.items() if empty]
    totals = _totals(session, actor, project, unmanaged) if with_totals else None
    stmt = visibility.narrow(_workflows(actor.org_id, project), actor, Workflow.project_id)
    if status is not None:
        stmt = stmt.join(ContractRow, ContractRow.id == Workflow.contract_id).where(
            _flags(unmanaged)[status]
        )
    keys = (Project.name, Workflow.name, Workflow.id)
    after = pagination.after(cursor, keys)
    if after is not None:
        stmt = stmt.where(after)
    rows = list(session.execute(stmt.limit(limit + 1)))
    findings = open_findings(session, actor.org_id, visibility.visible(actor, Workflow.project_id))
    if totals is not None:
        totals["open_findings"] = sum(findings.values())
    projects: dict[str, list[dict[str, Any]]] = {}
    for row in rows[:limit]:
        projects.setdefault(row.project, []).append(
            _workflow(row, contracts[row.contract_id], findings)
        )
    return {
        "totals": totals,
        "projects": [{"name": name, "workflows": wfs} for name, wfs in projects.items()],
        "next_cursor": _next(rows, limit),
        "window": {"recent_runs": RECENT, "failing_runs": FAILING_RUNS},
    }


def _next(rows: list[Any], limit: int) -> str | None:
    """The cursor after the last workflow shown, when more follow."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return pagination.cursor_after([last.project, last.name, last.id])


def _contracts(session: Session, org_id: str) -> dict[str, tuple[str, int, bool]]:
    """Contract id → (name, newest revision, requires nothing)."""
    stmt = (
        select(ContractRow.id, ContractRow.name, ContractRow.latest_revision, ContractRevision.id)
        .join(
            ContractRevision,
            and_(
                ContractRevision.contract_id == ContractRow.id,
                ContractRevision.revision == ContractRow.latest_revision,
            ),
        )
        .where(ContractRow.org_id == org_id)
    )
    rows = list(session.execute(stmt))
    unknown = [rev for *_, rev in rows if rev not in _EMPTY_BY_REVISION]
    if unknown:
        specs = select(ContractRevision.id, ContractRevision.spec)
        for rev, spec in session.execute(specs.where(ContractRevision.id.in_(unknown))):
            _EMPTY_BY_REVISION[rev] = requires_nothing(spec)
    return {cid: (name, latest, _EMPTY_BY_REVISION[rev]) for cid, name, latest, rev in rows}


def _flags(unmanaged: list[str]) -> dict[str, ColumnElement[bool]]:
    """Each standing (core/overview.py's terms) as a SQL condition on a workflow row joined
    to its contract, project and summary."""
    newest = ContractRow.latest_revision
    failed = ("f", "b", "e")
    return {
        "integrated": _S.id.is_not(None),
        "compliant": and_(
            func.substr(_S.recent_statuses, 1, 1) == "s", _S.last_finished_revision == newest
        ),
        "lagging": _S.last_success_revision < newest,
        "failing": and_(
            func.length(_S.recent_statuses) >= FAILING_RUNS,
            *(func.substr(_S.recent_statuses, n, 1).in_(failed) for n in (1, 2, 3)),
        ),
        "unmanaged": Workflow.contract_id.in_(unmanaged),
        "blocked": _blocked(),
    }


def _totals(
    session: Session, actor: Principal, project: str | None, unmanaged: list[str]
) -> dict[str, int]:
    """The organisation totals (core/overview.py's terms, in SQL) as one aggregate."""
    stmt = _counted(actor, unmanaged, func.count(func.distinct(Workflow.project_id)))
    if project:
        stmt = stmt.where(Project.name == project)
    counts = session.execute(stmt).one()
    return {"projects": counts[0], **dict(zip(TOTALS, counts[1:], strict=True))}


def _counted(actor: Principal, unmanaged: list[str], *first: Any) -> Any:
    """``first`` then the count of each of :data:`TOTALS` over the live workflows the actor
    sees."""
    stmt = (
        select(
            *first,
            func.count(Workflow.id),
            *(func.count(Workflow.id).filter(flag) for flag in _flags(unmanaged).values()),
        )
        .select_from(Workflow)
        .join(ContractRow, ContractRow.id == Workflow.contract_id)
        .join(Project, Project.id == Workflow.project_id)
        .outerjoin(_S, _S.id == Workflow.id)
        .where(Workflow.org_id == actor.org_id, Workflow.archived_at.is_(None))
    )
    return visibility.narrow(stmt, actor, Workflow.project_id)


def by_project(session: Session, actor: Principal) -> list[dict[str, Any]]:
    """The totals of each project (one grouped aggregate), in project name order, each with
    ``compliance``: the share of its integrated workflows that are compliant (None: none)."""
    actor.require_reader()
    contracts = _contracts(session, actor.org_id)
    unmanaged = [cid for cid, (_, _, empty) in contracts.items() if empty]
    stmt = _counted(actor, unmanaged, Project.name).group_by(Project.name)
    rows = []
    for name, *counts in session.execute(stmt.order_by(Project.name)):
        totals = dict(zip(TOTALS, counts, strict=True))
        integrated = totals["integrated"]
        share = totals["compliant"] / integrated if integrated else None
        rows.append({"name": name, **totals, "compliance": share})
    return rows


def _workflows(org_id: str, project: str | None) -> Any:
    stmt = (
        select(
            Project.name.label("project"),
            Workflow.id,
            Workflow.name,
            Workflow.team,
            _blocked().label("blocked"),
            Workflow.contract_id,
            _S.last_run_id,
            _S.last_run_status,
            _S.last_run_at,
            _S.last_runner_type,
            _S.last_success_revision,
            _S.runs_total,
            _S.recent_statuses,
            _S.recent_revisions,
        )
        .join(Project, Project.id == Workflow.project_id)
        .outerjoin(_S, _S.id == Workflow.id)
        .where(Workflow.org_id == org_id, Workflow.archived_at.is_(None))
        .order_by(Project.name, Workflow.name, Workflow.id)
    )
    return stmt.where(Project.name == project) if project else stmt


def _workflow(
    row: Any, contract: tuple[str, int, bool], findings: Mapping[str, int]
) -> dict[str, Any]:
    name, newest, empty = contract
    history = History(
        runs=row.runs_total or 0,
        recent=row.recent_statuses or "",
        recent_revisions=row.recent_revisions or [],
        last_success_revision=row.last_success_revision,
    )
    state = assess(history, newest)
    last_run = None
    if row.last_run_id:
        last_run = {
            "id": row.last_run_id,
            "status": row.last_run_status,
            "created_at": rfc3339(row.last_run_at),
            "runner_type": row.last_runner_type,
        }
    item: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "owner": row.team,
        "contract": {"name": name, "revision": newest},
        "last_run": last_run,
        "runs": history.runs,
        "recent": history.recent,
        "last_success_revision": history.last_success_revision,
        "compliance": state.compliance,
        "compliant": state.compliant,
        "lagging": state.lagging,
        "failing": state.failing,
        "unmanaged": empty,
        "blocked": bool(row.blocked),
    }
    item["open_findings"] = findings.get(row.id, 0)
    return item
