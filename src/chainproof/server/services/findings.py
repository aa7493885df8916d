"""Drift findings: reconciled with the rules of core/drift.py, listed, acknowledged.

:func:`reconcile` is the one place a finding opens or closes: it returns the
:class:`Change` list, which is what a later outbox delivers. It runs on every run state
change (:func:`on_runs_changed`, called by init, push, reset and expiry) and from the
worker's periodic job (``server/jobs/findings.py``), which is what opens ``stopped``.
An acknowledged finding stays acknowledged while it is open; when its cause comes back
after it closed, a new, unacknowledged finding opens.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainproof.core.drift import KINDS, detect
from chainproof.errors import AmbiguousId, Conflict, InvalidInput, NotFound
from chainproof.server.db import Finding, Project, Workflow
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit, drift, events, visibility, workflows
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

STATUSES = ("open", "closed", "all")
MAX_REASON = 2000
MIN_CADENCE_SECONDS = 3600
MIN_PREFIX = 8
_ID_CHARS = re.compile(r"[0-9a-f][0-9a-f-]*")
_CHUNK = 500  # workflows per IN list of the periodic job's reads


@dataclass(frozen=True)
class Change:
    """A finding that opened or closed (the event integrations will deliver)."""

    action: str  # opened | closed
    finding: Finding


def reconcile(
    session: Session,
    wf: Workflow,
    now: datetime | None = None,
    open_findings: Iterable[Finding] | None = None,
) -> list[Change]:
    """Open the findings the rules find for ``wf`` at ``now``, refresh the evidence of those
    still found, close the others; the openings and closings. ``open_findings``: the
    workflow's open findings when the caller read them already (else they are read here)."""
    now = now or utcnow()
    settings = drift.settings_of(session)
    if open_findings is None:
        open_findings = _open_of(session, [wf.id])
    current = {f.kind: f for f in open_findings}
    regressed = current.get("regressed")
    runs, facts = drift.read(session, wf, settings.window, regressed.details if regressed else None)
    found = {d.kind: d for d in detect(runs, facts, now, settings)}
    changes: list[Change] = []
    for kind, finding in current.items():
        seen = found.get(kind)
        if seen is None:
            finding.closed_at = now
            changes.append(Change("closed", finding))
        else:
            finding.evidence, finding.details = list(seen.evidence), seen.details
    for kind, seen in found.items():
        if kind not in current:
            finding = Finding(
                org_id=wf.org_id,
                workflow_id=wf.id,
                kind=kind,
                severity=seen.severity,
                opened_at=now,
                evidence=list(seen.evidence),
                details=seen.details,
            )
            session.add(finding)
            changes.append(Change("opened", finding))
    session.flush()
    for change in changes:
        audit.record(
            session,
            wf.org_id,
            None,
            f"finding.{'open' if change.action == 'opened' else 'close'}",
            change.finding.id,
            kind=change.finding.kind,
            workflow=wf.name,
        )
        events.finding_changed(session, wf, change.finding, change.action)
    return changes


def on_runs_changed(
    session: Session, workflow_ids: Iterable[str], now: datetime | None = None
) -> list[Change]:
    """Reconcile the workflows whose runs just changed, each in a savepoint: a concurrent
    reconcile that opened the same finding first wins, and the run's change stands."""
    ids = sorted(set(workflow_ids))
    if len(ids) == 1:  # a run's own workflow: in the identity map, its findings read below
        found = session.get(Workflow, ids[0])
        batch: list[tuple[Workflow, list[Finding] | None]] = [(found, None)] if found else []
    else:  # the periodic job's batch: two statements instead of two per workflow
        batch = _with_open_findings(session, ids)
    changes: list[Change] = []
    for wf, open_findings in batch:
        try:
            with session.begin_nested():
                changes += reconcile(session, wf, now, open_findings)
        except IntegrityError:
            continue  # another transaction opened it; the periodic job catches up
    return changes


def list_page(
    session: Session,
    actor: Principal,
    *,
    kind: str | None = None,
    workflow: str | None = None,
    project: str | None = None,
    status: str = "open",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Finding], str | None]:
    """Findings, newest first, filtered; owners, admins, members and viewers read them.
    Keyset pages: the cursor names the last finding shown, so findings that open while
    someone pages neither repeat nor shift the next page."""
    actor.require_reader()
    if status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}", hint=", ".join(STATUSES))
    if kind and kind not in KINDS:
        raise InvalidInput(f"unknown finding kind {kind!r}", hint=", ".join(KINDS))
    stmt = (
        select(Finding)
        .join(Workflow, Workflow.id == Finding.workflow_id)
        .join(Project, Project.id == Workflow.project_id)
        .where(Finding.org_id == actor.org_id)
    )
    stmt = visibility.narrow(stmt, actor, Workflow.project_id)
    if status == "open":
        stmt = stmt.where(Finding.closed_at.is_(None))
    elif status == "closed":
        stmt = stmt.where(Finding.closed_at.is_not(None))
    if kind:
        stmt = stmt.where(Finding.kind == kind)
    if workflow:
        stmt = stmt.where(Workflow.name == workflow)
    if project:
        stmt = stmt.where(Project.name == project)
    return pagination.keyset_page(
        session, stmt, limit, cursor, at=Finding.opened_at, key=Finding.id
    )


def acknowledge(
    session: Session, actor: Principal, finding_id: str, reason: str, now: datetime | None = None
) -> Finding:
    """Mark an open finding as known and accepted (owner/admin, or the project's admin),
    with the reason; audited."""
    actor.require_admin_somewhere()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required", hint="say why the finding is accepted")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters")
    finding = _by_id_or_prefix(session, actor, finding_id)
    wf = session.get(Workflow, finding.workflow_id)
    assert wf is not None
    actor.require_in_project(wf.project_id, "admin", f"finding {finding_id}")
    if finding.closed_at is not None:
        raise Conflict(f"finding {finding_id} is closed: there is nothing to acknowledge")
    finding.acknowledged_at = now or utcnow()
    finding.acknowledged_by = actor.token_name
    finding.acknowledged_reason = reason
    audit.record(session, actor.org_id, actor, "finding.acknowledge", finding.id, reason=reason)
    return finding


def set_cadence(
    session: Session,
    actor: Principal,
    project: str,
    workflow: str,
    seconds: int | None,
    now: datetime | None = None,
) -> Workflow:
    """Set how long a workflow may go without a run before it counts as ``stopped``
    (owner/admin; None: learn it from its runs again); re-evaluates its findings."""
    wf = workflows.for_admin(session, actor, project, workflow)
    if seconds is not None and seconds < MIN_CADENCE_SECONDS:
        raise InvalidInput(
            f"a cadence must be at least {MIN_CADENCE_SECONDS} seconds", hint="e.g. 12h or 7d"
        )
    wf.cadence_seconds = seconds
    audit.record(session, actor.org_id, actor, "workflow.cadence", wf.id, seconds=seconds)
    reconcile(session, wf, now)
    return wf


def view(session: Session, finding: Finding) -> dict[str, Any]:
    """Finding JSON per docs/api.md."""
    wf = session.get(Workflow, finding.workflow_id)
    assert wf is not None
    project = session.get(Project, wf.project_id)
    return {
        "id": finding.id,
        "kind": finding.kind,
        "severity": finding.severity,
        "status": "open" if finding.closed_at is None else "closed",
        "workflow": wf.name,
        "project": project.name if project else None,
        "owner": wf.team,
        "opened_at": rfc3339(finding.opened_at),
        "closed_at": rfc3339(finding.closed_at),
        "evidence": list(finding.evidence or []),
        "details": dict(finding.details or {}),
        "acknowledged_at": rfc3339(finding.acknowledged_at),
        "acknowledged_by": finding.acknowledged_by,
        "acknowledged_reason": finding.acknowledged_reason,
    }


def _by_id_or_prefix(session: Session, actor: Principal, finding_id: str) -> Finding:
    """A finding of the caller's organisation by id or a unique prefix of at least
    :data:`MIN_PREFIX` characters (as ``drift list`` shows them)."""
    wanted = finding_id.strip().lower()
    if len(wanted) < MIN_PREFIX or not _ID_CHARS.fullmatch(wanted):
        raise InvalidInput(
            f"{finding_id!r} is not a finding id", hint=f"give at least {MIN_PREFIX} characters"
        )
    stmt = select(Finding).where(Finding.org_id == actor.org_id, Finding.id.like(f"{wanted}%"))
    if actor.restricted:
        stmt = stmt.join(Workflow, Workflow.id == Finding.workflow_id)
        stmt = visibility.narrow(stmt, actor, Workflow.project_id)
    found = list(session.scalars(stmt.limit(2)))
    if not found:
        raise NotFound(f"finding {finding_id} not found", hint="list them with `drift list`")
    if len(found) > 1:
        raise AmbiguousId(
            f"finding id prefix {finding_id!r} matches several findings",
            hint="give more characters of the id (drift list -o json shows them whole)",
            candidates=[f.id for f in found],
        )
    return found[0]


def _with_open_findings(
    session: Session, ids: list[str]
) -> list[tuple[Workflow, list[Finding] | None]]:
    """The workflows ``ids`` that exist, in id order, each with its open findings."""
    out: list[tuple[Workflow, list[Finding] | None]] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        wfs = list(
            session.scalars(select(Workflow).where(Workflow.id.in_(chunk)).order_by(Workflow.id))
        )
        by_workflow: dict[str, list[Finding]] = defaultdict(list)
        for finding in _open_of(session, chunk):
            by_workflow[finding.workflow_id].append(finding)
        out += [(wf, by_workflow[wf.id]) for wf in wfs]
    return out


def _open_of(session: Session, workflow_ids: list[str]) -> list[Finding]:
    return list(
        session.scalars(
            select(Finding).where(
                Finding.workflow_id.in_(workflow_ids), Finding.closed_at.is_(None)
            )
        )
    )
