"""Filling the discover index (docs/discover.md) from pushed attestations, off the push's path.

A pass takes the attestations not yet indexed whose ``created_at`` is at most ``OVERLAP``
older than the newest one indexed (the watermark: a push's transaction may commit after a
later one's, so the scan looks back rather than strictly after), oldest first, a batch at a
time. For each run it records the digests its attestation names (``referrers``) and the
components of every SBOM it pushed, read from the CAS (``components``), then marks the run
(``indexed_runs``). Every insert skips rows whose unique key exists, so a pass repeated, or
run by two workers at once, indexes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chainproof.core import jsonload, sbom_components
from chainproof.core.digest import Digest
from chainproof.server.db import (
    Attestation,
    Component,
    IndexedRun,
    Material,
    Referrer,
    WorkflowRun,
)
from chainproof.server.db.base import new_id, ordered_id, utcnow
from chainproof.server.db.inserts import (
    commit_without_flush,
    copy_if_absent,
    insert_many_if_absent,
)

log = logging.getLogger(__name__)

SBOM_KINDS = ("SBOM_CYCLONEDX_JSON", "SBOM_CYCLONEDX_XML", "SBOM_SPDX_JSON")
BATCH = 50
"""Runs indexed per transaction."""
OVERLAP = timedelta(minutes=10)
"""How far behind the watermark a pass looks for attestations committed late."""
MAX_SBOM_BYTES = 256 * 1024 * 1024
"""Largest SBOM indexed (larger ones are marked with an error)."""

BlobOpener = Callable[[str, Material], Iterable[bytes]]
"""``(org id, material row)`` → the material's bytes from the CAS."""


@dataclass
class _Run:
    run_id: str
    org_id: str
    workflow_id: str
    created_at: datetime
    attested_at: datetime
    digest: str
    statement: dict[str, Any]
    materials: list[Material]


def pending(session: Session, limit: int) -> list[str]:
    """Run ids whose attestation awaits indexing, oldest first."""
    mark = session.scalar(select(func.max(IndexedRun.attested_at)))
    stmt = (
        select(Attestation.run_id)
        .outerjoin(IndexedRun, IndexedRun.run_id == Attestation.run_id)
        .where(IndexedRun.id.is_(None))
    )
    if mark is not None:
        stmt = stmt.where(Attestation.created_at >= mark - OVERLAP)
    return list(session.scalars(stmt.order_by(Attestation.created_at).limit(limit)))


PASS_BATCHES = 20
"""Batches per pass at most: a backlog (the history after an upgrade) is worked off over
several passes, so that a server stopping waits for one short pass, not for the backlog."""


def index_once(sessions: sessionmaker[Session], open_blob: BlobOpener) -> int:
    """Index pending runs, :data:`BATCH` per transaction, :data:`PASS_BATCHES` at most; how
    many were indexed."""
    done = 0
    for _ in range(PASS_BATCHES):
        with sessions() as session:
            ids = pending(session, BATCH)
            runs = _load(session, ids)
        if not runs:
            return done
        found = [(run, *_sbom_rows(run, open_blob)) for run in runs]
        with sessions.begin() as session:
            # Derived data: a crash that loses this commit loses its marks with it, and the
            # next pass indexes those runs again.
            commit_without_flush(session)
            insert_many_if_absent(session, Referrer, [r for run in runs for r in _refs(run)])
            copy_if_absent(session, Component, [c for _, comps, _ in found for c in comps])
            marks = [
                {
                    "id": new_id(),
                    "run_id": run.run_id,
                    "attested_at": run.attested_at,
                    "indexed_at": utcnow(),
                    "components": len(comps),
                    "error": error,
                }
                for run, comps, error in found
            ]
            insert_many_if_absent(session, IndexedRun, marks)
        done += len(runs)
    return done


def _load(session: Session, ids: list[str]) -> list[_Run]:
    if not ids:
        return []
    rows = session.execute(
        select(WorkflowRun, Attestation)
        .join(Attestation, Attestation.run_id == WorkflowRun.id)
        .where(WorkflowRun.id.in_(ids))
        .order_by(Attestation.created_at)
    ).all()
    materials: dict[str, list[Material]] = {}
    for material in session.scalars(select(Material).where(Material.run_id.in_(ids))):
        session.expunge(material)
        materials.setdefault(material.run_id, []).append(material)
    return [
        _Run(
            run.id,
            run.org_id,
            run.workflow_id,
            run.created_at,
            att.created_at,
            att.digest,
            att.statement,
            materials.get(run.id, []),
        )
        for run, att in rows
    ]


def _digest(descriptor: Any) -> str | None:
    digests = descriptor.get("digest") if isinstance(descriptor, dict) else None
    if not isinstance(digests, dict) or not digests:
        return None
    alg = "sha256" if "sha256" in digests else sorted(digests)[0]
    return f"{alg}:{digests[alg]}"


def _refs(run: _Run) -> list[dict[str, Any]]:
    """The referrer rows of one run: the attestation, its subjects, its materials."""
    bundle = {"kind": "ATTESTATION", "repository": None, "tag": None}
    rows = [_ref(run, run.digest, "attestation", "attestation", bundle)]
    materials = {m.digest: m for m in run.materials}
    for subject in run.statement.get("subject") or []:
        digest = _digest(subject)
        if digest is not None:
            name = str(subject.get("name") or "")
            rows.append(_ref(run, digest, "subject", name, _about(materials.get(digest))))
    for material in run.materials:
        rows.append(_ref(run, material.digest, "material", material.name, _about(material)))
    unique = {(r["role"], r["name"], r["digest"]): r for r in rows}
    return list(unique.values())


def _ref(run: _Run, digest: str, role: str, name: str, about: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ordered_id(),
        "org_id": run.org_id,
        "run_id": run.run_id,
        "digest": digest,
        "role": role,
        "name": name[:300],
        **about,
    }


def _about(material: Material | None) -> dict[str, Any]:
    if material is None:
        return {"kind": None, "repository": None, "tag": None}
    summary = material.summary or {}
    repository, tag = summary.get("repository"), summary.get("tag")
    return {
        "kind": material.kind,
        "repository": repository if isinstance(repository, str) else None,
        "tag": tag[:200] if isinstance(tag, str) else None,
    }


def _sbom_rows(run: _Run, open_blob: BlobOpener) -> tuple[list[dict[str, Any]], str | None]:
    """The component rows of the run's SBOMs, and the first error met reading one."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    error: str | None = None
    for material in run.materials:
        if material.kind not in SBOM_KINDS or not (material.uploaded or material.inline):
            continue
        try:
            found = sbom_components.components(
                material.kind, _parse(material, open_blob(run.org_id, material))
            )
        except Exception as err:  # an unreachable backend, a blob gone: the run is still marked
            log.warning("discover index: SBOM %s of run %s: %s", material.digest, run.run_id, err)
            error = error or f"SBOM {material.name} ({material.digest}): {err}"
            continue
        for comp in found:
            rows[(material.digest, comp.key)] = _component_row(run, material.digest, comp)
    return list(rows.values()), error


def _parse(material: Material, chunks: Iterable[bytes]) -> Any:
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > MAX_SBOM_BYTES:
            raise ValueError(f"larger than {MAX_SBOM_BYTES} bytes")
    if Digest.of_bytes(bytes(data)) != Digest.parse(material.digest):
        raise ValueError("its bytes do not match its digest")
    if material.kind == "SBOM_CYCLONEDX_XML":
        from chainproof.policy.content import evaluable_content

        return evaluable_content(material.kind, bytes(data), descriptor={})
    return jsonload.loads(bytes(data).decode("utf-8-sig"))


def _component_row(run: _Run, sbom: str, comp: sbom_components.SbomComponent) -> dict[str, Any]:
    return {
        "id": ordered_id(),
        "org_id": run.org_id,
        "run_id": run.run_id,
        "workflow_id": run.workflow_id,
        "run_created_at": run.created_at,
        "sbom_digest": sbom,
        "key": comp.key,
        "purl": comp.purl,
        "package": comp.package,
        "name": comp.name,
        "version": (comp.version or "")[:200] or None,
        "type": (comp.type or "")[:50] or None,
        "licenses": "|" + "|".join(comp.licenses) + "|" if comp.licenses else "",
        "hashes": " ".join(comp.hashes),
    }
