"""Discover by digest (docs/discover.md): the runs whose attestations name a digest (as
subject, material or the attestation itself), what else those attestations name, and, to
the depth asked, the runs that name those in turn.

The graph is walked a level at a time, with two statements per level whatever its width
(the referrers of the level's digests with their runs, then everything those runs name).
A run appears once in a tree; later meetings of it are not expanded again. Everything is
read within the caller's organisation: a digest it never saw is NotFound, as is one only
another organisation has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, NotFound
from chainproof.server.db import Project, ProjectVersion, Referrer, Workflow, WorkflowRun
from chainproof.server.services import visibility
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

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
        refs = _referrers(session, actor, list(level))
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
        level = {d: n for d, n in _references(session, new_runs).items() if d not in visited}
    node["kind"], node["names"] = _describe(node)
    return node


def _referrers(
    session: Session, actor: Principal, digests: list[str]
) -> list[tuple[Referrer, dict[str, Any]]]:
    stmt = (
        select(Referrer, WorkflowRun, Workflow.name, Project.name, ProjectVersion.version)
        .join(WorkflowRun, WorkflowRun.id == Referrer.run_id)
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .join(Project, Project.id == Workflow.project_id)
        .outerjoin(ProjectVersion, ProjectVersion.id == WorkflowRun.project_version_id)
        .where(Referrer.org_id == actor.org_id, Referrer.digest.in_(digests))
        .order_by(WorkflowRun.created_at.desc(), WorkflowRun.id)
        # Bounded: a run names one digest in a few roles at most, so this holds MAX_RUNS
        # runs per digest however many thousand runs share a base image.
        .limit(MAX_RUNS * 4 * len(digests))
    )
    # A person holding project roles: the runs of their projects only.
    rows = session.execute(visibility.narrow(stmt, actor, Workflow.project_id)).all()
    out = []
    for ref, run, workflow, project, version in rows:
        out.append(
            (
                ref,
                {
                    "id": run.id,
                    "project": project,
                    "workflow": workflow,
                    "project_version": version,
                    "status": run.status,
                    "created_at": rfc3339(run.created_at),
                    "attestation_digest": run.attestation_digest,
                },
            )
        )
    return out


def _attach(
    level: dict[str, dict[str, Any]],
    refs: list[tuple[Referrer, dict[str, Any]]],
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


def _references(session: Session, runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fill each run's ``references``; the next level's digest nodes."""
    rows = session.scalars(
        select(Referrer)
        .where(Referrer.run_id.in_(list(runs)))
        .order_by(Referrer.role, Referrer.name, Referrer.digest)
    ).all()
    level: dict[str, dict[str, Any]] = {}
    for ref in rows:
        child = {
            "digest": ref.digest,
            "role": ref.role,
            "name": ref.name,
            "kind": ref.kind,
            "repository": ref.repository,
            "tag": ref.tag,
        }
        runs[ref.run_id]["references"].append(child)
        level.setdefault(ref.digest, {"digest": ref.digest, "runs": []})
        level[ref.digest].setdefault("_nodes", []).append(child)
    return level


def _describe(node: dict[str, Any]) -> tuple[str | None, list[str]]:
    about: list[Referrer] = node.pop("_about", [])
    kinds = [r.kind for r in about if r.kind]
    names = sorted({r.name for r in about})
    return (kinds[0] if kinds else None), names
