"""Component search (docs/discover.md): which runs shipped a component, by purl, by name
(with a version range in the component's own ecosystem ordering) or by license; any run, or
each workflow's latest successful run only (what ships now). Newest run first, keyset pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, aliased

from chainproof.core.sbom_components import package_of
from chainproof.core.version_range import VersionRange
from chainproof.errors import InvalidInput
from chainproof.server.db import Component, Project, ProjectVersion, Referrer, Workflow, WorkflowRun
from chainproof.server.services import visibility
from chainproof.server.support import pagination
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

_SCAN = 500
"""Rows read per statement while a version range filters them in Python."""


@dataclass(frozen=True)
class ComponentFilter:
    purl: str | None = None
    name: str | None = None
    version: str | None = None
    license: str | None = None
    latest: bool = False


def search(
    session: Session, actor: Principal, where: ComponentFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching components, with their runs; robots are refused."""
    actor.require_reader()
    stmt = _statement(actor.org_id, where)
    clause = visibility.visible(actor, Workflow.project_id)
    if clause is not None:  # a person holding project roles: their projects' components
        in_view = select(Workflow.id).where(Workflow.org_id == actor.org_id, clause)
        stmt = stmt.where(Component.workflow_id.in_(in_view))
    wanted = VersionRange.parse(where.version) if where.version else None
    if wanted is None:
        rows, nxt = pagination.keyset_page(
            session, stmt, limit, cursor, at=Component.run_created_at, key=Component.id
        )
        return _views(session, rows), nxt
    return _filtered(session, stmt, wanted, limit, cursor)


def _statement(org_id: str, f: ComponentFilter) -> Select[Any]:
    if not (f.purl or f.name or f.license):
        raise InvalidInput(
            "search by purl, by name or by license", hint="--purl, --name or --license"
        )
    stmt = select(Component).where(Component.org_id == org_id)
    if f.purl:
        package, version = package_of(f.purl)
        if package is None:
            raise InvalidInput(
                f"not a package URL: {f.purl!r}", hint="e.g. pkg:pypi/requests@2.31.0"
            )
        stmt = stmt.where(Component.package == package)
        if version:
            stmt = stmt.where(Component.version == version)
    if f.name:
        stmt = stmt.where(Component.name == f.name)
    if f.version and not (f.name or f.purl):
        raise InvalidInput("--version needs --name or --purl")
    if f.license:
        stmt = stmt.where(Component.licenses.ilike(f"%|{_like(f.license)}|%", escape="\\"))
    if f.latest:
        newest = aliased(WorkflowRun)
        latest = (
            select(newest.id)
            .where(newest.workflow_id == Component.workflow_id, newest.status == "succeeded")
            .order_by(newest.created_at.desc(), newest.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = stmt.where(Component.run_id == latest)
    return stmt


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(
    session: Session, stmt: Select[Any], wanted: VersionRange, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of rows in the version range: read :data:`_SCAN` at a time until the page is
    full; the cursor names the last row returned, so the next page resumes after it."""
    if limit < 1 or limit > pagination.MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {pagination.MAX_LIMIT}")
    found: list[Component] = []
    while True:
        rows, nxt = pagination.keyset_page(
            session, stmt, _SCAN, cursor, at=Component.run_created_at, key=Component.id
        )
        for row in rows:
            if wanted.contains(row.version, _purl_type(row.purl)):
                found.append(row)
                if len(found) > limit:
                    last = found[limit - 1]
                    more = pagination.keyset_cursor(last.run_created_at, last.id)
                    return _views(session, found[:limit]), more
        if nxt is None:
            return _views(session, found), None
        cursor = nxt


def _purl_type(purl: str | None) -> str | None:
    if not purl or not purl.startswith("pkg:"):
        return None
    return purl[4:].split("/", 1)[0].lower()


def _views(session: Session, rows: list[Component]) -> list[dict[str, Any]]:
    run_ids = list({r.run_id for r in rows})
    runs = {
        run.id: (run, workflow, project, version)
        for run, workflow, project, version in session.execute(
            select(WorkflowRun, Workflow.name, Project.name, ProjectVersion.version)
            .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
            .join(Project, Project.id == Workflow.project_id)
            .outerjoin(ProjectVersion, ProjectVersion.id == WorkflowRun.project_version_id)
            .where(WorkflowRun.id.in_(run_ids))
        )
    }
    images: dict[str, dict[str, dict[str, Any]]] = {}
    for ref in session.scalars(
        select(Referrer).where(
            and_(Referrer.run_id.in_(run_ids), Referrer.kind == "CONTAINER_IMAGE")
        )
    ):
        images.setdefault(ref.run_id, {})[ref.digest] = {
            "digest": ref.digest,
            "repository": ref.repository,
            "tag": ref.tag,
        }
    out = []
    for row in rows:
        run, workflow, project, version = runs[row.run_id]
        out.append(
            {
                "purl": row.purl,
                "name": row.name,
                "version": row.version,
                "type": row.type,
                "licenses": [lic for lic in row.licenses.split("|") if lic],
                "hashes": row.hashes.split(),
                "sbom_digest": row.sbom_digest,
                "project": project,
                "workflow": workflow,
                "project_version": version,
                "run": {"id": run.id, "status": run.status, "created_at": rfc3339(run.created_at)},
                "images": sorted(images.get(row.run_id, {}).values(), key=lambda i: i["digest"]),
            }
        )
    return out
