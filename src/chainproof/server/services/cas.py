"""CAS grants (short-lived JWTs), which blobs each organisation owns and where.

The CAS app (cas/app.py) sees the database through two adapters defined here:
:class:`DbBlobIndex` (``cas_blobs``: which organisation uploaded which digest, into which
backend) and :class:`DbBackendSource` (a token's ``backend`` claim → the organisation's
configured backend, built once and rebuilt when an admin changes it).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chainproof.cas import providers
from chainproof.cas.app import Target
from chainproof.cas.backend import Backend
from chainproof.cas.tokens import EMBEDDED, mint_token
from chainproof.core.digest import Digest
from chainproof.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from chainproof.server.db import CasBlob, Material, Workflow, WorkflowRun
from chainproof.server.services import audit, cas_backends, projects, runs
from chainproof.server.services.cas_backends import BackendFactory
from chainproof.server.services.principal import Principal
from chainproof.server.services.times import rfc3339


def grant(
    session: Session,
    actor: Principal,
    *,
    secret: str,
    cas_url: str,
    direction: str,
    run_id: str | None = None,
    digest: str | None = None,
    project: str | None = None,
    embedded_max: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``{"token","url","expires_at","backend"}`` for an upload or a download.

    An upload is for a run (``run_id``, still initialized), or, without ``run_id``, a
    run-less upload by an owner, admin or member user (``artifact upload``), optionally filed
    under an existing ``project`` in the audit log. Either way the CAS records the blob in
    ``cas_blobs`` once stored; it becomes downloadable when a run references it.
    Uploads go to the organisation's current upload target (default, or fallback while the
    default is invalid, or the embedded store); a download token names the backend that
    holds the digest. ``backend`` is ``{"name","provider","max_blob_size"}``.
    """
    if direction == "upload":
        if run_id:
            if project:
                raise InvalidInput("give run_id or project, not both")
            run = runs.get_run_for_attest(session, actor, run_id)
            if run.status != "initialized":
                raise Conflict(f"run {run.id} already finished: it is {run.status}")
            subject: str | None = run.id
        else:
            subject = _runless_upload(session, actor, project)
        target = cas_backends.upload_target(session, actor.org_id)
        token, expires = mint_token(
            secret,
            org=actor.org_id,
            direction="upload",
            backend=target.id if target else EMBEDDED,
            run=subject if run_id else None,
            now=now,
        )
        audit.record(
            session,
            actor.org_id,
            actor,
            "cas.grant",
            subject,
            direction="upload",
            run=bool(run_id),
            backend=target.name if target else EMBEDDED,
        )
    elif direction == "download":
        if not digest:
            raise InvalidInput("a download token needs digest")
        parsed = Digest.parse(digest)
        if not readable(session, actor, parsed):
            raise NotFound(f"blob {parsed} not found")
        target = cas_backends.holder_of(session, actor.org_id, str(parsed))
        token, expires = mint_token(
            secret,
            org=actor.org_id,
            direction="download",
            backend=target.id if target else EMBEDDED,
            digest=parsed,
            now=now,
        )
        audit.record(session, actor.org_id, actor, "cas.grant", str(parsed), direction="download")
    else:
        raise InvalidInput(f"unknown direction {direction!r}", hint="upload or download")
    return {
        "token": token,
        "url": cas_url,
        "expires_at": rfc3339(expires),
        "backend": cas_backends.target_view(target, embedded_max),
    }


def _runless_upload(session: Session, actor: Principal, project: str | None) -> str | None:
    """Check a run-less upload grant; the project's id (the audit target) when named."""
    if actor.is_robot:
        raise Forbidden(
            "robot tokens upload evidence only for a run",
            hint="start one with `attestation init`, or pass the run's id (--run-id)",
        )
    actor.require_attestor()
    return projects.get(session, actor.org_id, project).id if project else None


def readable(session: Session, actor: Principal, digest: Digest) -> bool:
    """Whether a run the caller can read references ``digest`` as a stored material."""
    stmt = (
        select(Material.id)
        .join(WorkflowRun, WorkflowRun.id == Material.run_id)
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .where(
            Material.digest == str(digest),
            Material.uploaded.is_(True),
            WorkflowRun.org_id == actor.org_id,
        )
        .limit(1)
    )
    if actor.project_id:
        stmt = stmt.where(Workflow.project_id == actor.project_id)
    if actor.workflow_id:
        stmt = stmt.where(Workflow.id == actor.workflow_id)
    return session.scalar(stmt) is not None


def owned_size(session: Session, org_id: str, digest: Digest) -> int | None:
    """The blob's size when ``org_id`` uploaded it, else None."""
    return session.scalar(
        select(CasBlob.size).where(CasBlob.org_id == org_id, CasBlob.digest == str(digest))
    )


def stored_in(session: Session, org_id: str, digest: Digest) -> tuple[int, str | None] | None:
    """``(size, backend id or None for the embedded store)`` of an owned blob, else None."""
    row = session.execute(
        select(CasBlob.size, CasBlob.backend_id).where(
            CasBlob.org_id == org_id, CasBlob.digest == str(digest)
        )
    ).first()
    return None if row is None else (int(row[0]), row[1])


def record_blob(
    session: Session, org_id: str, digest: Digest, size: int, backend: str = EMBEDDED
) -> None:
    """Note that the organisation owns ``digest``, stored in ``backend`` (a token claim);
    idempotent within this session."""
    if owned_size(session, org_id, digest) is None:
        row = cas_backends.by_claim(session, org_id, backend)
        session.add(
            CasBlob(
                org_id=org_id,
                digest=str(digest),
                size=size,
                backend=row.provider if row else "fs",
                backend_id=row.id if row else None,
            )
        )
        audit.record(
            session,
            org_id,
            None,
            "cas.upload",
            str(digest),
            size=size,
            backend=row.name if row else EMBEDDED,
        )


class DbBlobIndex:
    """The CAS app's view of ``cas_blobs``: one short transaction per call."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def lookup(self, org: str, digest: Digest) -> int | None:
        """The blob's size when ``org`` owns it."""
        with self._sessions() as session:
            return owned_size(session, org, digest)

    def record(self, org: str, digest: Digest, size: int, backend: str = EMBEDDED) -> None:
        """Insert the ``cas_blobs`` row (a concurrent duplicate is fine)."""
        try:
            with self._sessions.begin() as session:
                record_blob(session, org, digest, size, backend)
        except IntegrityError:
            pass


class DbBackendSource:
    """The CAS app's view of ``cas_backends``: a token's backend claim → a :class:`Target`.

    Built backends are cached per backend id and rebuilt when the row's ``updated_at``
    moves (settings changed, credentials rotated). A replaced backend is not closed at once:
    a transfer may still be using it.
    """

    def __init__(
        self, sessions: sessionmaker[Session], factory: BackendFactory, embedded: Target
    ) -> None:
        self._sessions = sessions
        self._factory = factory
        self._embedded = embedded
        self._cache: dict[str, tuple[datetime, Target]] = {}
        self._lock = threading.Lock()

    def target(self, org: str, backend: str) -> Target:
        """The backend ``backend`` of ``org``; NotFound when it does not exist (any more)."""
        if backend == EMBEDDED:
            return self._embedded
        with self._sessions() as session:
            row = cas_backends.by_claim(session, org, backend)
            assert row is not None
            with self._lock:
                cached = self._cache.get(row.id)
                if cached is not None and cached[0] == row.updated_at:
                    return cached[1]
                try:
                    built: Backend = self._factory.build(row)
                except InvalidInput as err:
                    raise ServiceError(
                        f"CAS backend {row.name!r} cannot be used: {err.message}",
                        hint="an admin can check it with `chainproof cas-backend validate`",
                    ) from None
                target = Target(
                    built,
                    row.name,
                    row.max_blob_size,
                    providers.describe(row.provider, row.config or {}),
                )
                self._cache[row.id] = (row.updated_at, target)
                return target

    def close(self) -> None:
        """Close every cached backend."""
        with self._lock:
            for _, target in self._cache.values():
                target.backend.close()
            self._cache.clear()
