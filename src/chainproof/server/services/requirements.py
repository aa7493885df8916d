"""New contract requirements reaching teams: revision diffs, what is new at init, the
rollout of a contract across its workflows, and the organisation's grace period.

How a run gets its revision: ``attestation init`` takes the contract's newest revision unless
the job pins one (``--contract-revision``). So a new revision applies at once to every
unpinned job; the grace period (``organizations.contract_grace_seconds``) bounds how long a
job may stay on an older revision by pinning it, and how long a run opened on an older
revision (pinned, or opened just before the new one was published) may still be pushed.
Revision R stops being accepted when revision R+1 has been published for the grace period.
Without a grace period every revision stays accepted (as before).

A *compliant* run succeeded and its policies found no violation (``policy_result``, the
verdict recorded at push).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from chainproof.core.contract import Contract
from chainproof.core.contract_diff import diff, new_requirements
from chainproof.errors import ContractOutdated, InvalidInput
from chainproof.server.db import (
    ContractRevision,
    ContractRow,
    Organization,
    Project,
    Workflow,
    WorkflowRun,
)
from chainproof.server.db.base import utcnow
from chainproof.server.services import contracts, orgs, visibility
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339


# -- diff ------------------------------------------------------------------------------------
def revision_diff(
    session: Session, actor: Principal, name: str, old: int | None, new: int | None
) -> dict[str, Any]:
    """The changes from revision ``old`` (default ``new - 1``) to ``new`` (default latest);
    InvalidInput for a range that does not go forward, NotFound for a missing revision."""
    row = contracts.describe(session, actor, name)
    to = row.latest_revision if new is None else new
    since = to - 1 if old is None else old
    if since < 1 or since >= to:
        raise InvalidInput(
            f"cannot diff revision {since} to {to}",
            hint=f"give FROM..TO with 1 <= FROM < TO; contract {name} has revisions "
            f"1..{row.latest_revision}",
        )
    before = contracts.revision(session, row, since)
    after = contracts.revision(session, row, to)
    changes = diff(Contract.from_dict(before.spec), Contract.from_dict(after.spec))
    return {
        "name": row.name,
        "from": since,
        "to": to,
        "latest_revision": row.latest_revision,
        "changes": [c.to_dict() for c in changes],
    }


# -- grace period ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Deadline:
    """Revision ``required`` is required from ``at`` on (older ones are refused then)."""

    required: int
    at: datetime


def _published(session: Session, contract: ContractRow) -> dict[int, datetime]:
    rows = session.execute(
        select(ContractRevision.revision, ContractRevision.created_at).where(
            ContractRevision.contract_id == contract.id
        )
    )
    return {number: at for number, at in rows}


def deadline(
    session: Session, org: Organization, contract: ContractRow, revision: int
) -> Deadline | None:
    """When ``revision`` stops being accepted (revision+1's publication plus the grace
    period); None without a grace period or when ``revision`` is the newest."""
    if not org.contract_grace_seconds or revision >= contract.latest_revision:
        return None
    published = _published(session, contract)
    grace = timedelta(seconds=org.contract_grace_seconds)
    return Deadline(revision + 1, published[revision + 1] + grace)


def check_accepted(
    session: Session,
    org: Organization,
    contract: ContractRow,
    revision: int,
    now: datetime | None = None,
) -> Deadline | None:
    """The deadline still ahead for ``revision``, if any; ContractOutdated once it passed,
    naming the revision required now (the newest whose grace period is over)."""
    due = deadline(session, org, contract, revision)
    now = now or utcnow()
    if due is None or due.at > now:
        return due
    grace = timedelta(seconds=org.contract_grace_seconds or 0)
    published = _published(session, contract)
    required = max(n for n, at in published.items() if at + grace <= now)
    raise ContractOutdated(
        f"contract {contract.name} revision {revision} is no longer accepted since "
        f"{rfc3339(due.at)}: revision {required} is required",
        hint="start a new run without --contract-revision (it takes the newest revision)",
        revision=revision,
        required_revision=required,
        since=rfc3339(due.at),
    )


# -- what is new at init ---------------------------------------------------------------------
def init_notices(
    session: Session,
    org: Organization,
    workflow: Workflow,
    contract: ContractRow,
    rev: ContractRevision,
    now: datetime | None = None,
) -> dict[str, Any]:
    """For the init answer's ``contract``: ``new_requirements`` (what this run's revision
    requires that the revision of the workflow's last successful run did not) and
    ``deadline`` (when a newer revision becomes required for a run on an older one)."""
    due = check_accepted(session, org, contract, rev.revision, now)
    return {
        "new_requirements": _news(session, workflow, rev),
        "deadline": {"revision": due.required, "at": rfc3339(due.at)} if due else None,
    }


def _news(session: Session, workflow: Workflow, rev: ContractRevision) -> dict[str, Any] | None:
    last = session.execute(
        select(ContractRevision, ContractRow.name)
        .join(WorkflowRun, WorkflowRun.contract_revision_id == ContractRevision.id)
        .join(ContractRow, ContractRow.id == ContractRevision.contract_id)
        .where(WorkflowRun.workflow_id == workflow.id, WorkflowRun.status == "succeeded")
        .order_by(WorkflowRun.created_at.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    before, contract_name = last
    same = before.contract_id == rev.contract_id
    if before.id == rev.id or (same and before.revision > rev.revision):
        return None
    changes = new_requirements(Contract.from_dict(before.spec), Contract.from_dict(rev.spec))
    if not changes:
        return None
    return {
        "contract": contract_name,
        "since_revision": before.revision,
        "changes": [c.to_dict() for c in changes],
    }


# -- rollout ---------------------------------------------------------------------------------
_NEVER = datetime.max.replace(tzinfo=UTC)
#: Workflows per grouped query of a rollout (SQLite binds at most 32,766 parameters).
_BATCH = 1000


def rollout(session: Session, actor: Principal, name: str) -> dict[str, Any]:
    """Per workflow on contract ``name``: its last compliant run's revision, whether it has
    complied with the newest revision, and since when it lags (the publication of the first
    revision after the newest it complied with). Laggards first, longest lag first."""
    row = contracts.describe(session, actor, name)
    org = orgs.get_org(session, actor.org_id)
    published = _published(session, row)
    stmt = (
        select(Workflow, Project.name)
        .join(Project, Project.id == Workflow.project_id)
        .where(Workflow.contract_id == row.id)
        .order_by(Project.name, Workflow.name)
    )
    found = session.execute(visibility.narrow(stmt, actor, Workflow.project_id)).all()
    compliant = _compliant(session, row, [wf.id for wf, _ in found])
    rows = [
        _workflow_rollout(row, wf, project, published, compliant.get(wf.id, {}))
        for wf, project in found
    ]
    rows.sort(key=lambda r: (r[0] is None, r[0] or _NEVER))
    items = [item for _, item in rows]
    due = deadline(session, org, row, row.latest_revision - 1) if row.latest_revision > 1 else None
    return {
        "name": row.name,
        "latest_revision": row.latest_revision,
        "published_at": rfc3339(published[row.latest_revision]),
        "required_from": rfc3339(due.at) if due else None,
        "grace_seconds": org.contract_grace_seconds,
        "workflows": items,
    }


def _compliant(
    session: Session, contract: ContractRow, workflow_ids: list[str]
) -> dict[str, dict[int, datetime]]:
    """Per workflow: its newest compliant run's start, under that run's revision of
    ``contract``; and for a workflow whose newest compliant run is on an older revision
    (a laggard), its newest compliant run's start under every revision it complied with.

    Two steps because a contract's rollout may list thousands of workflows with a hundred
    runs each: the newest compliant run of each is one step back along the index on
    (workflow_id, created_at), while grouping all their runs reads every one of them. Only
    the laggards, usually few, are grouped. Batched to stay under the bound-parameter limits.
    """
    of_contract = select(ContractRevision.id, ContractRevision.revision).where(
        ContractRevision.contract_id == contract.id
    )
    revisions = {rid: number for rid, number in session.execute(of_contract)}
    newest: dict[str, dict[int, datetime]] = {}
    for start in range(0, len(workflow_ids), _BATCH):
        batch = workflow_ids[start : start + _BATCH]
        last = (
            _compliant_runs(revisions, WorkflowRun.id)
            .where(WorkflowRun.workflow_id == Workflow.id)
            .order_by(WorkflowRun.created_at.desc())
            .limit(1)
            .correlate(Workflow)
            .scalar_subquery()
        )
        run_ids = [r for r in session.scalars(select(last).where(Workflow.id.in_(batch))) if r]
        found = select(
            WorkflowRun.workflow_id, WorkflowRun.contract_revision_id, WorkflowRun.created_at
        ).where(WorkflowRun.id.in_(run_ids))
        for workflow_id, revision_id, at in session.execute(found):
            newest[workflow_id] = {revisions[revision_id]: at}
        laggards = [w for w in batch if max(newest.get(w, {0: None})) < contract.latest_revision]
        if laggards:
            grouped = _compliant_runs(
                revisions,
                WorkflowRun.workflow_id,
                WorkflowRun.contract_revision_id,
                func.max(WorkflowRun.created_at),
            ).where(WorkflowRun.workflow_id.in_(laggards))
            by_revision = grouped.group_by(
                WorkflowRun.workflow_id, WorkflowRun.contract_revision_id
            )
            for workflow_id, revision_id, at in session.execute(by_revision):
                newest.setdefault(workflow_id, {})[revisions[revision_id]] = at
    return newest


def _compliant_runs(revisions: dict[str, int], *columns: Any) -> Select[Any]:
    """``columns`` of the compliant runs under one of ``revisions`` (by id). The revisions
    are named, not joined: joined, PostgreSQL expects a row or so per workflow and sorts all
    of a workflow's runs rather than stepping back along its index."""
    return select(*columns).where(
        WorkflowRun.status == "succeeded",
        # the policies' verdict at push; verification["policy"] holds the same
        or_(WorkflowRun.policy_result.is_(None), WorkflowRun.policy_result != "violated"),
        WorkflowRun.contract_revision_id.in_(list(revisions)),
    )


def _workflow_rollout(
    contract: ContractRow,
    wf: Workflow,
    project: str,
    published: dict[int, datetime],
    compliant: dict[int, datetime],
) -> tuple[datetime | None, dict[str, Any]]:
    """(since when it lags, or None; its rollout entry), from its newest compliant run's
    start per revision."""
    last = max(compliant.items(), key=lambda item: item[1], default=None)
    best = max(compliant, default=0)  # the newest revision it complied with
    complied = best >= contract.latest_revision
    since = None if complied else published[best + 1]
    return since, {
        "project": project,
        "workflow": wf.name,
        "team": wf.team,
        "last_compliant_revision": last[0] if last else None,
        "last_compliant_at": rfc3339(last[1]) if last else None,
        "complied_newest": complied,
        "lagging_since": rfc3339(since),
    }


def check_run_accepted(session: Session, run: WorkflowRun, now: datetime | None = None) -> None:
    """ContractOutdated when the run's contract revision is past its grace period (push)."""
    rev = session.get(ContractRevision, run.contract_revision_id)
    contract = session.get(ContractRow, rev.contract_id) if rev else None
    if rev is None or contract is None:
        return
    check_accepted(session, orgs.get_org(session, run.org_id), contract, rev.revision, now)
