"""Workflow runs: init, reset, expiry, listing (push lives in :mod:`.push`).

State machine: ``initialized → succeeded | failed | cancelled | expired``.

Reads accept a unique prefix of a run id (at least :data:`MIN_PREFIX` characters), as git
does for commits: the lookup only ever sees the caller's organisation (and a robot's
scope), so another tenant's runs are neither found nor named as candidates. Anything that
changes a run (push, reset, state, signing, uploads) wants the full id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from chainproof.core.contract import Contract
from chainproof.errors import (
    AmbiguousId,
    Conflict,
    ContractNotSatisfied,
    Forbidden,
    InvalidInput,
    NotFound,
    RunnerMismatch,
)
from chainproof.server.db import (
    Attestation,
    AuditEvent,
    CasBackend,
    ContractRevision,
    ContractRow,
    Material,
    Project,
    ProjectVersion,
    Workflow,
    WorkflowRun,
)
from chainproof.server.db.base import utcnow
from chainproof.server.services import (
    audit,
    blocks,
    ci_replay,
    contracts,
    events,
    findings,
    orgs,
    projects,
    requirements,
    versions,
    visibility,
    workflow_stats,
    workflows,
)
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

STATUSES = ("initialized", "succeeded", "blocked", "failed", "cancelled", "expired")
_TRIGGERS = {"failure": "failed", "cancellation": "cancelled"}
MIN_PREFIX = 4
"""The shortest run id prefix a read accepts."""
MAX_CANDIDATES = 10
"""How many matching runs an ambiguous prefix names."""
_PREFIX = re.compile(r"[0-9a-f][0-9a-f-]*")


def init(
    session: Session,
    actor: Principal,
    *,
    workflow: str,
    project: str,
    runner: dict[str, Any],
    project_version: str | None = None,
    contract: str | None = None,
    contract_revision: int | None = None,
    expiry_seconds: int = 3600,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Start a run; create project and workflow on first use unless the org forbids it (a
    person holding project roles attests in those projects only and creates none)."""
    actor.require_attestor_somewhere()
    if actor.run_id:
        raise Forbidden(
            f"this token was exchanged again for run {actor.run_id}: it starts no other run",
            hint="a new attestation needs a new CI job (its own ID token)",
        )
    now = now or utcnow()
    org = orgs.get_org(session, actor.org_id)
    runner_type = str(runner.get("type") or "")
    if not runner_type:
        raise InvalidInput("runner.type is required")
    project_row = projects.find(session, actor.org_id, project)
    if project_row is None:
        if actor.restricted:
            raise NotFound(f"project {project!r} not found", hint="see `chainproof project list`")
        _may_create(actor, org.allow_implicit_creation, f"project {project!r}")
        project_row = projects.ensure(session, actor, project)
    actor.require_in_project(project_row.id, "attest", f"project {project!r}")
    if actor.is_robot and actor.project_id and actor.project_id != project_row.id:
        raise Forbidden(f"this token is restricted to project {actor.project_name!r}")
    wf = workflows.find(session, project_row, workflow)
    if wf is None:
        _may_create(actor, org.allow_implicit_creation, f"workflow {project}/{workflow}")
        new_contract = _contract_for_new(session, actor, project, workflow, contract)
        wf = workflows.ensure(session, actor, project_row, workflow, new_contract)
    if actor.is_robot:
        actor.check_scope(project_row.id, wf.id)
    _may_start(session, wf, project)
    contract_row = session.get(ContractRow, wf.contract_id)
    assert contract_row is not None
    rev = contracts.revision(session, contract_row, contract_revision)
    notices = requirements.init_notices(session, org, wf, contract_row, rev, now)
    spec = Contract.from_dict(rev.spec)
    if spec.runner_type and spec.runner_type != runner_type:
        raise RunnerMismatch(
            f"contract {contract_row.name} requires runner {spec.runner_type}, "
            f"this job runs on {runner_type}",
            hint="run the job on the runner the contract names, or change the contract",
            expected=spec.runner_type,
            got=runner_type,
        )
    env = runner.get("env") or {}
    missing = [n for n in spec.env_allow_list if n not in env]
    if missing:
        raise ContractNotSatisfied(
            f"environment variables required by the contract are not set: {', '.join(missing)}",
            hint="set them in the CI job's environment",
            missing=missing,
        )
    version_row = (
        versions.for_run(session, actor, org, project_row, project_version)
        if project_version
        else None
    )
    run = WorkflowRun(
        org_id=actor.org_id,
        workflow_id=wf.id,
        project_version_id=version_row.id if version_row else None,
        status="initialized",
        runner_type=runner_type,
        runner_url=runner.get("url"),
        runner=runner,
        contract_revision_id=rev.id,
        created_at=now,
        expires_at=now + timedelta(seconds=expiry_seconds),
        ci_identity=actor.ci_identity,
    )
    session.add(run)
    session.flush()
    if actor.ci_identity and actor.token_id:
        ci_replay.run_started(session, actor.token_id, run.id)
    workflow_stats.started(session, run)
    audit.record(session, actor.org_id, actor, "run.init", run.id, workflow=wf.name)
    findings.on_runs_changed(session, [wf.id], now)
    return {
        "run": view(session, run),
        "workflow": workflows.view(session, wf),
        "org": orgs.org_view(org),
        "contract": {
            "name": contract_row.name,
            "revision": rev.revision,
            "latest_revision": contract_row.latest_revision,
            "spec": rev.spec,
            **notices,
        },
        # The CLI evaluates these at add and push too, for feedback before the push is judged.
        "required_policies": org.required_policies or None,
        "policies_allowed_hostnames": list(org.policy_allowed_hostnames or []),
    }


def _may_start(session: Session, wf: Workflow, project: str) -> None:
    """Blocked (by itself or its project) or archived workflows start no run."""
    refused = blocks.refusal(session, wf)
    if refused is not None:
        raise refused
    if wf.archived_at is not None:
        raise Conflict(
            f"workflow {project}/{wf.name} is archived: it takes no new runs",
            hint=f"an owner or admin can bring it back with `chainproof workflow unarchive "
            f"--name {wf.name} --project {project}`",
        )


def _may_create(actor: Principal, allowed: bool, what: str) -> None:
    if not allowed:
        raise NotFound(
            f"{what} not found and this organisation disabled implicit creation",
            hint="ask an admin to create it first",
        )
    if actor.is_robot and (actor.project_id or actor.workflow_id):
        raise Forbidden(f"this token is restricted and may not create {what}")


def _contract_for_new(
    session: Session, actor: Principal, project: str, workflow: str, contract: str | None
) -> ContractRow | None:
    """A named contract, or raw contract text stored as ``<project>-<workflow>``."""
    if not contract:
        return None
    named = contracts.find(session, actor.org_id, contract)
    if named is not None:
        return named
    if "\n" not in contract and ":" not in contract:
        raise NotFound(f"contract {contract!r} not found")
    name = f"{project}-{workflow}"
    spec = contracts.parse(name, contract)
    return contracts.ensure(session, actor, name, spec, contract)


def get_run(session: Session, actor: Principal, run_id: str) -> WorkflowRun:
    """A run the caller may read, by id or unique id prefix; NotFound for other orgs and
    outside a robot's scope, AmbiguousId (naming the candidates) for a prefix that matches
    more than one readable run, InvalidInput for a prefix under :data:`MIN_PREFIX`."""
    if _is_uuid(run_id):
        return _by_id(session, actor, str(uuid.UUID(run_id)), shown=run_id)
    prefix = run_id.strip().lower()
    if not _PREFIX.fullmatch(prefix):
        raise NotFound(f"run {run_id} not found")
    if len(prefix) < MIN_PREFIX:
        raise InvalidInput(
            f"run id prefix {run_id!r} is too short",
            hint=f"give at least {MIN_PREFIX} characters of the run id",
        )
    # LIKE, not a range: PostgreSQL's non-C collations order '-' unlike byte order.
    stmt = (
        _readable(actor)
        .where(WorkflowRun.id.like(f"{prefix}%"))
        .order_by(WorkflowRun.id)
        .limit(MAX_CANDIDATES + 1)
    )
    found = list(session.scalars(stmt))
    if not found:
        raise NotFound(f"run {run_id} not found")
    if len(found) > 1:
        shown = [r.id for r in found[:MAX_CANDIDATES]]
        more = " and more" if len(found) > MAX_CANDIDATES else ""
        raise AmbiguousId(
            f"run id prefix {run_id!r} matches several runs: {', '.join(shown)}{more}",
            hint="give more characters of the run id",
            candidates=shown,
        )
    return found[0]


def _by_id(session: Session, actor: Principal, run_id: str, *, shown: str) -> WorkflowRun:
    run = session.scalar(_readable(actor).where(WorkflowRun.id == run_id))
    if run is None:
        raise NotFound(f"run {shown} not found")
    return run


def _readable(actor: Principal) -> Select[WorkflowRun]:
    """Runs ``actor`` may read: its organisation's, within a robot token's scope."""
    stmt = select(WorkflowRun).where(WorkflowRun.org_id == actor.org_id)
    if actor.run_id:
        stmt = stmt.where(WorkflowRun.id == actor.run_id)
    if actor.restricted:
        stmt = stmt.join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        return visibility.narrow(stmt, actor, Workflow.project_id)
    if actor.is_robot and (actor.project_id or actor.workflow_id):
        stmt = stmt.join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        if actor.project_id:
            stmt = stmt.where(Workflow.project_id == actor.project_id)
        if actor.workflow_id:
            stmt = stmt.where(Workflow.id == actor.workflow_id)
    return stmt


def get_run_for_attest(session: Session, actor: Principal, run_id: str) -> WorkflowRun:
    """A run the caller may attest to, by its full id (any status; callers check the
    state): a prefix that is unique today may not be tomorrow, and changes must not guess."""
    actor.require_attestor_somewhere()
    if not _is_uuid(run_id):
        raise NotFound(f"run {run_id} not found", hint="give the run's full id")
    run = _by_id(session, actor, str(uuid.UUID(run_id)), shown=run_id)
    if actor.restricted:
        wf = session.get(Workflow, run.workflow_id)
        assert wf is not None
        actor.require_in_project(wf.project_id, "attest", f"run {run_id}")
    return run


def reset(
    session: Session,
    actor: Principal,
    run_id: str,
    trigger: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> WorkflowRun:
    """Mark an initialized run failed or cancelled; Conflict if it already finished."""
    status = _TRIGGERS.get(trigger)
    if status is None:
        raise InvalidInput(f"unknown trigger {trigger!r}", hint="failure or cancellation")
    run = get_run_for_attest(session, actor, run_id)
    if run.status != "initialized":
        raise Conflict(f"run {run.id} already finished: it is {run.status}")
    run.status = status
    run.reason = reason
    run.finished_at = now or utcnow()
    workflow_stats.finished(session, run)
    audit.record(session, actor.org_id, actor, "run.reset", run.id, status=status, reason=reason)
    findings.on_runs_changed(session, [run.workflow_id], run.finished_at)
    events.run_finished(session, run)  # outbox (docs/integrations.md)
    return run


def expire_runs(session: Session, now: datetime | None = None) -> int:
    """Mark initialized runs past their deadline as expired; return how many."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(WorkflowRun)
            .where(WorkflowRun.status == "initialized", WorkflowRun.expires_at <= now)
            .order_by(WorkflowRun.workflow_id)  # summaries locked in one order: no deadlock
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return 0
    ids = [row.id for row in due]
    for run in due:
        run.status = "expired"
        run.finished_at = now
        run.reason = "expired: not pushed in time"
        workflow_stats.finished(session, run)
    session.add_all(
        AuditEvent(
            org_id=row.org_id, actor_token_id=None, action="run.expire", target=row.id, data={}
        )
        for row in due
    )
    findings.on_runs_changed(session, {row.workflow_id for row in due}, now)
    return len(ids)


def view(
    session: Session,
    run: WorkflowRun,
    *,
    materials: bool = False,
    material_rows: Sequence[Material] | None = None,
) -> dict[str, Any]:
    """Run JSON per docs/api.md; ``material_rows``, when the caller holds the run's
    materials (a push just wrote them), spares reading them again."""
    wf = session.get(Workflow, run.workflow_id)
    assert wf is not None
    project = session.get(Project, wf.project_id)
    rev = session.get(ContractRevision, run.contract_revision_id)
    contract = session.get(ContractRow, rev.contract_id) if rev else None
    version = (
        session.get(ProjectVersion, run.project_version_id) if run.project_version_id else None
    )
    out: dict[str, Any] = {
        "id": run.id,
        "workflow": wf.name,
        "project": project.name if project else None,
        "project_version": version.version if version else None,
        "status": run.status,
        "reason": run.reason,
        "runner_type": run.runner_type,
        "runner_url": run.runner_url,
        "contract_name": contract.name if contract else None,
        "contract_revision": rev.revision if rev else None,
        "created_at": rfc3339(run.created_at),
        "finished_at": rfc3339(run.finished_at),
        "expires_at": rfc3339(run.expires_at),
        "attestation_digest": run.attestation_digest,
        "verification": run.verification,
        "policy_result": run.policy_result,
        "ci_identity": run.ci_identity,
    }
    if materials:
        if material_rows is None:
            stmt = select(Material).where(Material.run_id == run.id)
            material_rows = list(session.scalars(stmt))
        rows = sorted(material_rows, key=lambda m: m.name)
        ids = {m.cas_backend_id for m in rows if m.cas_backend_id}
        names: dict[str, str] = {}
        if ids:
            query = select(CasBackend.id, CasBackend.name).where(CasBackend.id.in_(ids))
            names = {backend_id: name for backend_id, name in session.execute(query)}
        out["materials"] = [
            material_view(m, names.get(m.cas_backend_id or "", "embedded")) for m in rows
        ]
    return out


def material_view(m: Material, cas_backend: str = "embedded") -> dict[str, Any]:
    """Material JSON per docs/api.md; ``cas_backend`` names where an uploaded blob lives."""
    return {
        "name": m.name,
        "kind": m.kind,
        "digest": m.digest,
        "size": m.size,
        "filename": m.filename,
        "value": m.value,
        "annotations": m.annotations,
        "summary": m.summary,
        "output": m.output,
        "uploaded": m.uploaded,
        "cas_backend": cas_backend if m.uploaded else None,
        "inline": m.inline,
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def get_attestation(session: Session, actor: Principal, run_id: str) -> Attestation:
    """The stored attestation of a readable run; NotFound when it has none."""
    run = get_run(session, actor, run_id)
    row = session.scalar(select(Attestation).where(Attestation.run_id == run.id))
    if row is None:
        raise NotFound(f"run {run.id} has no attestation (it is {run.status})")
    return row
