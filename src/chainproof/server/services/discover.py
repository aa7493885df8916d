"""Discover by digest (docs/discover.md): the runs whose attestations name a digest (as
subject, material or the attestation itself), what else those attestations name, and, to
the depth asked, the runs that name those in turn.

The graph is walked a level at a time, with one statement per level whatever its width
(the referrers of the level's digests with their runs, and everything those runs name).
A run appears once in a tree; later meetings of it are not expanded again. Everything is
read within the caller's organisation: a digest it never saw is NotFound, as is one only
another organisation has.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, NotFound
from chainproof.server.db import (
    Project,
    ProjectMembership,
    ProjectVersion,
    Referrer,
    Workflow,
    WorkflowRun,
)
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339


class _Ref(NamedTuple):
    """One referrer row: a digest a run's attestation names, and how."""

    digest: str
    role: str
    name: str
    kind: str | None
    repository: str | None
    tag: str | None
    run_id: str


MAX_DEPTH = 5
MAX_RUNS = 200
"""Runs shown per digest (the most recent first): a base image every build uses must not
turn a lookup into a dump of the organisation."""


def discover(session: Session, actor: Principal, digest: str, depth: int = 1) -> dict[str, Any]:
    """The tree rooted at ``digest`` (docs/api.md); robots are refused (Forbidden)."""
    actor.require_reader()
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth must be between 1 and {MAX_DEPTH}")
    root = str(Digest.parse(digest))
    node: dict[str, Any] = {"digest": root, "runs": []}
    level = {root: node}
    seen_runs: set[str] = set()
    visited: set[str] = set()
    for step in range(depth):
        refs, named_by = _level(session, actor, list(level))
        if step == 0 and not refs:
            raise NotFound(
                f"no attestation of this organisation names {root}",
                hint="the index is filled shortly after a push; check the digest",
            )
        for digest_node in level.values():
            for child in digest_node.pop("_nodes", []):
                child["runs"] = digest_node["runs"]  # one digest's children share its runs
        new_runs = _attach(level, refs, seen_runs)
        visited.update(level)
        if not new_runs:
            break
        level = {d: n for d, n in _references(new_runs, named_by).items() if d not in visited}
    node["kind"], node["names"] = _describe(node)
    return node


def _level_statement(*, restricted: bool) -> Select[Any]:
    """One level of the walk: the referrers of the digests ``:digests`` with their runs
    (newest run first), then everything those runs name (by run id, in role, name, digest
    order), told apart by ``part``. Built once: this is discover's hot path. ``restricted``:
    only the runs of the projects where ``:user_id`` holds a role (services/visibility.py)."""
    # Each digest's runs ranked newest first; only the first ``:cap`` are read on (a base
    # image every build names must not turn a lookup into a dump of the organisation, nor
    # crowd out the other digests of its level).
    rank = func.dense_rank().over(
        partition_by=Referrer.digest, order_by=(WorkflowRun.created_at.desc(), WorkflowRun.id)
    )
    ranked_rows = (
        select(
            Referrer.digest,
            Referrer.role,
            Referrer.name,
            Referrer.kind,
            Referrer.run_id,
            rank.label("rank"),
        )
        .join(WorkflowRun, WorkflowRun.id == Referrer.run_id)
        .where(
            Referrer.org_id == bindparam("org_id"),
            Referrer.digest.in_(bindparam("digests", expanding=True)),
        )
    )
    if restricted:
        held = select(ProjectMembership.project_id).where(
            ProjectMembership.org_id == bindparam("org_id"),
            ProjectMembership.user_id == bindparam("user_id"),
        )
        ranked_rows = ranked_rows.join(Workflow, Workflow.id == WorkflowRun.workflow_id).where(
            Workflow.project_id.in_(held)
        )
    ranked = ranked_rows.subquery()
    hits = (
        select(ranked.c.digest, ranked.c.role, ranked.c.name, ranked.c.kind, ranked.c.run_id)
        .where(ranked.c.rank <= bindparam("cap", type_=Integer))
        .cte("hits")
    )
    runs = (
        select(
            literal_column("0").label("part"),
            hits.c.digest,
            hits.c.role,
            hits.c.name,
            hits.c.kind,
            null().label("repository"),
            null().label("tag"),
            hits.c.run_id,
            WorkflowRun.status,
            WorkflowRun.attestation_digest,
            WorkflowRun.created_at,
            Workflow.name.label("workflow"),
            Project.name.label("project"),
            ProjectVersion.version,
        )
        .join(WorkflowRun, WorkflowRun.id == hits.c.run_id)
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .join(Project, Project.id == Workflow.project_id)
        .outerjoin(ProjectVersion, ProjectVersion.id == WorkflowRun.project_version_id)
    )
    # The union's second half: its columns line up with the first's by position.
    named_columns: list[Any] = [
        literal_column("1"),
        Referrer.digest,
        Referrer.role,
        Referrer.name,
        Referrer.kind,
        Referrer.repository,
        Referrer.tag,
        Referrer.run_id,
        *[null()] * 6,
    ]
    named = select(*named_columns).where(
        Referrer.run_id.in_(select(hits.c.run_id).scalar_subquery())
    )
    both = union_all(runs, named).subquery()
    return select(both).order_by(
        both.c.part,
        both.c.created_at.desc(),
        both.c.run_id,
        both.c.role,
        both.c.name,
        both.c.digest,
    )


_LEVEL = _level_statement(restricted=False)
_LEVEL_RESTRICTED = _level_statement(restricted=True)


def _level(
    session: Session, actor: Principal, digests: list[str]
) -> tuple[list[tuple[_Ref, dict[str, Any]]], dict[str, list[_Ref]]]:
    """One level of the walk in one statement (:func:`_level_statement`), as plain rows
    through the connection: no ORM objects, no ORM execution."""
    # One run more than shown, so that _attach can tell the digest's list was cut.
    params = {"org_id": actor.org_id, "digests": digests, "cap": MAX_RUNS + 1}
    statement = _LEVEL
    if actor.restricted:  # a person holding project roles: the runs of their projects only
        statement, params["user_id"] = _LEVEL_RESTRICTED, actor.user_id
    rows = session.connection().execute(statement, params).all()
    found: list[tuple[_Ref, dict[str, Any]]] = []
    named_by: dict[str, list[_Ref]] = {}
    for row in rows:
        ref = _Ref(row.digest, row.role, row.name, row.kind, row.repository, row.tag, row.run_id)
        if row.part == 1:
            named_by.setdefault(row.run_id, []).append(ref)
            continue
        run = {
            "id": row.run_id,
            "project": row.project,
            "workflow": row.workflow,
            "project_version": row.version,
            "status": row.status,
            "created_at": rfc3339(row.created_at),
            "attestation_digest": row.attestation_digest,
        }
        found.append((ref, run))
    return found, named_by


def _attach(
    level: dict[str, dict[str, Any]],
    refs: list[tuple[_Ref, dict[str, Any]]],
    seen: set[str],
) -> dict[str, dict[str, Any]]:
    """Hang each referring run under its digest's node; the runs not seen before."""
    new: dict[str, dict[str, Any]] = {}
    for ref, run in refs:
        node = level[ref.digest]
        node.setdefault("_about", []).append(ref)
        shown = {r["id"]: r for r in node["runs"]}
        if run["id"] in shown:
            if ref.role not in shown[run["id"]]["roles"]:
                shown[run["id"]]["roles"].append(ref.role)
            continue
        if len(node["runs"]) >= MAX_RUNS:
            node["truncated"] = True
            continue
        if run["id"] in seen and run["id"] not in new:
            continue  # shown higher up the tree (the run that led here, say)
        entry = {**run, "roles": [ref.role], "references": []}
        seen.add(run["id"])
        new[run["id"]] = entry
        node["runs"].append(entry)
    return new


def _references(
    runs: dict[str, dict[str, Any]], named_by: dict[str, list[_Ref]]
) -> dict[str, dict[str, Any]]:
    """Fill each new run's ``references``; the next level's digest nodes."""
    level: dict[str, dict[str, Any]] = {}
    for run_id, run in runs.items():
        for ref in named_by.get(run_id, []):
            child = {
                "digest": ref.digest,
                "role": ref.role,
                "name": ref.name,
                "kind": ref.kind,
                "repository": ref.repository,
                "tag": ref.tag,
            }
            run["references"].append(child)
            level.setdefault(ref.digest, {"digest": ref.digest, "runs": []})
            level[ref.digest].setdefault("_nodes", []).append(child)
    return level


def _describe(node: dict[str, Any]) -> tuple[str | None, list[str]]:
    about: list[_Ref] = node.pop("_about", [])
    kinds = [r.kind for r in about if r.kind]
    names = sorted({r.name for r in about})
    return (kinds[0] if kinds else None), names
