"""Project versions: a prerelease until released, listed with their runs and compliance.

A version is created as a **prerelease** the first time a run names it
(``attestation init --version V``). It is **released** once, by a successful push that asks
for it (``attestation push --release``) or by an owner or admin
(``project version release``); either is audited with who did it. An organisation can make
released versions final (``refuse_released_versions``): from then on ``attestation init``
and a push on a released version are refused with :class:`VersionReleased`.

**Compliance** of a version: the share of its *finished* runs (succeeded, blocked, failed,
cancelled or expired: not those in progress) that succeeded with no policy violation; None
before its first finished run. It is the overview's compliance (``core/overview.py``)
without its two limits: every run of the version counts, not the last ten, and each run is
judged on the contract revision it ran on, since a version records what happened then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, NotFound, VersionReleased
from chainproof.server.db import Organization, Project, ProjectVersion, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.db.inserts import insert_if_absent
from chainproof.server.services import audit, visibility
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

MAX_VERSION = 200


def for_run(
    session: Session, actor: Principal, org: Organization, project: Project, name: str
) -> ProjectVersion:
    """The version a new run records (created as a prerelease on first use);
    VersionReleased when it was released and the organisation refuses such runs."""
    if not name or len(name) > MAX_VERSION:
        raise InvalidInput(
            f"invalid project version {name[:40]!r}", hint=f"1 to {MAX_VERSION} characters"
        )
    row = find(session, project, name) or _create(session, actor, project, name)
    _refuse_if_released(org, project, row)
    return row


def _create(session: Session, actor: Principal, project: Project, name: str) -> ProjectVersion:
    """A new prerelease; when a concurrent run created it first, that one (insert-or-get,
    db/inserts.py: the caller's transaction stays usable)."""
    created = insert_if_absent(session, ProjectVersion, project_id=project.id, version=name)
    row = find(session, project, name)
    assert row is not None  # inserted now, or by the concurrent run that won
    if created:
        audit.record(session, actor.org_id, actor, "project_version.create", row.id, version=name)
    return row


def check_run_accepted(session: Session, run: WorkflowRun) -> None:
    """VersionReleased when the run's version was released meanwhile and the organisation
    refuses runs on released versions (push)."""
    if run.project_version_id is None:
        return
    row = session.get(ProjectVersion, run.project_version_id)
    org = session.get(Organization, run.org_id)
    project = session.get(Project, row.project_id) if row else None
    if row is not None and org is not None and project is not None:
        _refuse_if_released(org, project, row)


def check_releasable(run: WorkflowRun) -> None:
    """InvalidInput when a push asks to release the version of a run that has none (before
    anything is checked or stored)."""
    if run.project_version_id is None:
        raise InvalidInput(
            f"run {run.id} has no project version to release",
            hint="start the run with `attestation init --version V` to release V",
        )


def release_of_run(
    session: Session, actor: Principal, run: WorkflowRun, now: datetime | None = None
) -> ProjectVersion:
    """Release the version of a run just pushed successfully (``push --release``); a
    version already released stays as it was (the push itself stands)."""
    check_releasable(run)
    row = session.get(ProjectVersion, run.project_version_id)
    assert row is not None  # a foreign key
    _lock(session, row)
    if row.released_at is None:
        _mark_released(session, actor, row, now, run_id=run.id)
    return row


def release(
    session: Session, actor: Principal, project: str, version: str, now: datetime | None = None
) -> ProjectVersion:
    """Release a project's version (owner/admin, or the project's admin); Conflict when it
    already is."""
    actor.require_admin_somewhere()
    project_row = visibility.project(session, actor, project, "admin")
    row = get(session, project_row, version)
    _lock(session, row)
    if row.released_at is not None:
        raise Conflict(
            f"version {version} of project {project} was already released at "
            f"{rfc3339(row.released_at)} by {row.released_by or 'unknown'}",
            hint="a release is final; record new runs on a new version",
        )
    return _mark_released(session, actor, row, now)


def of_run(session: Session, run: WorkflowRun) -> dict[str, Any] | None:
    """The view of the run's version (None without one)."""
    if run.project_version_id is None:
        return None
    row = session.get(ProjectVersion, run.project_version_id)
    return views(session, [row])[0] if row is not None else None


def find(session: Session, project: Project, name: str) -> ProjectVersion | None:
    """The project's version called ``name``, if any."""
    return session.scalar(
        select(ProjectVersion).where(
            ProjectVersion.project_id == project.id, ProjectVersion.version == name
        )
    )


def get(session: Session, project: Project, name: str) -> ProjectVersion:
    """The project's version ``name``; NotFound otherwise."""
    row = find(session, project, name)
    if row is None:
        raise NotFound(
            f"project {project.name} has no version {name!r}",
            hint=f"list them with `chainproof project version list --project {project.name}`",
        )
    return row


def list_page(
    session: Session, actor: Principal, project: str, limit: int, cursor: str | None
) -> tuple[list[ProjectVersion], str | None]:
    """A project's versions, newest first, a keyset page at a time (owners, admins,
    members and viewers)."""
    actor.require_reader()
    project_row = visibility.project(session, actor, project, "read")
    stmt = select(ProjectVersion).where(ProjectVersion.project_id == project_row.id)
    return pagination.keyset_page(
        session, stmt, limit, cursor, at=ProjectVersion.created_at, key=ProjectVersion.id
    )


def views(session: Session, rows: list[ProjectVersion]) -> list[dict[str, Any]]:
    """The versions' JSON, their run counts from one grouped query."""
    counts = _run_counts(session, [row.id for row in rows])
    return [view(row, counts.get(row.id, (0, 0, 0))) for row in rows]


def view(row: ProjectVersion, counts: tuple[int, int, int] = (0, 0, 0)) -> dict[str, Any]:
    """``{"version","prerelease","released_at","released_by","created_at","runs",
    "finished_runs","succeeded_runs","compliance"}``; ``counts`` is (runs, finished,
    succeeded with no violation)."""
    runs, finished, good = counts
    return {
        "version": row.version,
        "prerelease": row.released_at is None,
        "released_at": rfc3339(row.released_at),
        "released_by": row.released_by,
        "created_at": rfc3339(row.created_at),
        "runs": runs,
        "finished_runs": finished,
        "succeeded_runs": good,
        "compliance": round(good / finished, 4) if finished else None,
    }


def _run_counts(session: Session, ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Version id → (runs, finished runs, runs that succeeded with no policy violation)."""
    if not ids:
        return {}
    run = WorkflowRun
    good = (run.status == "succeeded") & or_(
        run.policy_result.is_(None), run.policy_result != "violated"
    )
    stmt = (
        select(
            run.project_version_id,
            func.count(),
            func.count().filter(run.status != "initialized"),
            func.count().filter(good),
        )
        .where(run.project_version_id.in_(ids))
        .group_by(run.project_version_id)
    )
    return {str(vid): (total, done, ok) for vid, total, done, ok in session.execute(stmt)}


def _lock(session: Session, row: ProjectVersion) -> None:
    """Lock the version (PostgreSQL) and read it afresh: of two releases at once, the second
    sees the first and is a no-op (push) or a Conflict (release), never a second release."""
    session.refresh(row, with_for_update=True)


def _mark_released(
    session: Session,
    actor: Principal,
    row: ProjectVersion,
    now: datetime | None,
    *,
    run_id: str | None = None,
) -> ProjectVersion:
    project = session.get(Project, row.project_id)
    project_name = project.name if project else None
    row.released_at = now or utcnow()
    row.released_by = actor.token_name
    session.flush()
    audit.record(
        session,
        actor.org_id,
        actor,
        "project_version.release",
        row.id,
        project=project_name,
        version=row.version,
        run=run_id,
    )
    return row


def _refuse_if_released(org: Organization, project: Project, row: ProjectVersion) -> None:
    if row.released_at is None or not org.refuse_released_versions:
        return
    at = rfc3339(row.released_at)
    raise VersionReleased(
        f"version {row.version} of project {project.name} was released at {at} by "
        f"{row.released_by or 'unknown'}: this organisation takes no new runs on released "
        "versions",
        hint="record the run on a new version (`attestation init --version ...`); an owner "
        "or admin can allow it with `chainproof org update --allow-released-versions`",
        project=project.name,
        version=row.version,
        released_at=at,
        released_by=row.released_by,
    )
