"""A run's evidence for the integration kinds that export it (Dependency-Track, OCI export):
:class:`chainproof.integrations.RunContent` over the database and the CAS.

Read on demand, each read in its own short transaction, while a delivery is being sent
(outside the worker's claim and record transactions: jobs/delivery.py). Blobs are read where
the push left them (the run's CAS backend, the embedded store, or inline in the statement),
through the same opener as the discover index, and checked against their digest.
"""

from __future__ import annotations

import hashlib
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chainproof.errors import NotFound, VerificationError
from chainproof.integrations import MaterialRef
from chainproof.server.db import Attestation, Material, ProjectVersion, WorkflowRun
from chainproof.server.services.discover_index import BlobOpener

#: The largest material an export reads into memory.
MAX_BYTES = 64 * 1024 * 1024


class RunEvidence:
    """The materials, blobs and bundle of one run of organisation ``org_id``."""

    def __init__(
        self, sessions: sessionmaker[Session], open_blob: BlobOpener, org_id: str, run_id: str
    ) -> None:
        self._sessions = sessions
        self._open = open_blob
        self._org_id = org_id
        self._run_id = run_id

    @cached_property
    def version(self) -> str | None:
        with self._sessions() as session:
            stmt = (
                select(ProjectVersion.version)
                .join(WorkflowRun, WorkflowRun.project_version_id == ProjectVersion.id)
                .where(WorkflowRun.id == self._run_id, WorkflowRun.org_id == self._org_id)
            )
            return session.scalar(stmt)

    def materials(self) -> list[MaterialRef]:
        return [
            MaterialRef(
                name=m.name,
                kind=m.kind,
                digest=m.digest,
                stored=m.uploaded or m.inline,
                filename=m.filename,
                summary=dict(m.summary or {}),
            )
            for m in self._rows()
        ]

    def read(self, material: MaterialRef) -> bytes:
        found = [
            m for m in self._rows() if m.digest == material.digest and (m.uploaded or m.inline)
        ]
        if not found:
            raise NotFound(f"material {material.name} ({material.digest}) is not stored")
        data = bytearray()
        for chunk in self._open(self._org_id, found[0]):
            data += chunk
            if len(data) > MAX_BYTES:
                raise VerificationError(
                    f"material {material.name} is over {MAX_BYTES} bytes: not exported"
                )
        algorithm, _, expected = material.digest.partition(":")
        if algorithm == "sha256" and hashlib.sha256(data).hexdigest() != expected:
            raise VerificationError(f"material {material.name} does not match its digest")
        return bytes(data)

    def bundle(self) -> bytes | None:
        with self._sessions() as session:
            stmt = select(Attestation.bundle).where(Attestation.run_id == self._run_id)
            text = session.scalar(stmt)
        return text.encode() if text is not None else None

    def _rows(self) -> list[Material]:
        with self._sessions() as session:
            stmt = (
                select(Material)
                .join(WorkflowRun, WorkflowRun.id == Material.run_id)
                .where(Material.run_id == self._run_id, WorkflowRun.org_id == self._org_id)
                .order_by(Material.name)
            )
            rows = list(session.scalars(stmt))
            session.expunge_all()
        return rows
