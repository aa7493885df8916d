"""The organisation at a glance: per project and workflow, its owner, contract, last run,
compliance and standing (:mod:`chainproof.core.overview` defines each term), and totals.

It reads the per-workflow summaries (:mod:`.workflow_stats`), never the runs: two queries
whatever the number of runs (contracts with their newest revision, then workflows with
their summaries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from chainproof.core.overview import FAILING_RUNS, RECENT, History, assess, requires_nothing
from chainproof.server.db import ContractRevision, ContractRow, Project, Workflow, WorkflowStats
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

TOTALS = ("workflows", "integrated", "compliant", "lagging", "failing", "unmanaged", "blocked")


def open_findings(session: Session, org_id: str) -> Mapping[str, int] | None:
    """Open findings per workflow id, for the ``open_findings`` fields; None while this
    server tracks no findings (the fields are then left out). Extension point: the
    findings service answers here with one grouped count query."""
    return None


def overview(session: Session, actor: Principal, *, project: str | None = None) -> dict[str, Any]:
    """Projects and their workflows, ordered by name, with organisation totals."""
    actor.require_reader()
    contracts = _contracts(session, actor.org_id)
    findings = open_findings(session, actor.org_id)
    totals = dict.fromkeys(TOTALS, 0)
    projects: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(_workflows(actor.org_id, project)):
        item = _workflow(row, contracts[row.contract_id], findings)
        projects.setdefault(row.project, []).append(item)
        _count(totals, item)
    if findings is not None:
        totals["open_findings"] = sum(findings.values())
    return {
        "totals": {"projects": len(projects), **totals},
        "projects": [{"name": name, "workflows": wfs} for name, wfs in projects.items()],
        "window": {"recent_runs": RECENT, "failing_runs": FAILING_RUNS},
    }


def _contracts(session: Session, org_id: str) -> dict[str, tuple[str, int, bool]]:
    """Contract id → (name, newest revision, requires nothing)."""
    stmt = (
        select(ContractRow.id, ContractRow.name, ContractRow.latest_revision, ContractRevision.spec)
        .join(
            ContractRevision,
            and_(
                ContractRevision.contract_id == ContractRow.id,
                ContractRevision.revision == ContractRow.latest_revision,
            ),
        )
        .where(ContractRow.org_id == org_id)
    )
    return {
        cid: (name, latest, requires_nothing(spec))
        for cid, name, latest, spec in session.execute(stmt)
    }


def _workflows(org_id: str, project: str | None) -> Any:
    stmt = (
        select(
            Project.name.label("project"),
            Workflow.id,
            Workflow.name,
            Workflow.team,
            Workflow.blocked,
            Workflow.contract_id,
            WorkflowStats.last_run_id,
            WorkflowStats.last_run_status,
            WorkflowStats.last_run_at,
            WorkflowStats.last_runner_type,
            WorkflowStats.last_success_revision,
            WorkflowStats.runs_total,
            WorkflowStats.recent_statuses,
            WorkflowStats.recent_revisions,
        )
        .join(Project, Project.id == Workflow.project_id)
        .outerjoin(WorkflowStats, WorkflowStats.id == Workflow.id)
        .where(Workflow.org_id == org_id)
        .order_by(Project.name, Workflow.name)
    )
    return stmt.where(Project.name == project) if project else stmt


def _workflow(
    row: Any, contract: tuple[str, int, bool], findings: Mapping[str, int] | None
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
    if findings is not None:
        item["open_findings"] = findings.get(row.id, 0)
    return item


def _count(totals: dict[str, int], item: dict[str, Any]) -> None:
    totals["workflows"] += 1
    totals["integrated"] += item["runs"] > 0
    for flag in ("compliant", "lagging", "failing", "unmanaged", "blocked"):
        totals[flag] += bool(item[flag])
