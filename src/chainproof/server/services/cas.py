"""CAS grants (short-lived JWTs) and which blobs each organisation owns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chainproof.cas.tokens import mint_token
from chainproof.core.digest import Digest
from chainproof.errors import Conflict, InvalidInput, NotFound
from chainproof.server.db import CasBlob, Material, Workflow, WorkflowRun
from chainproof.server.services import audit, runs
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
    now: datetime | None = None,
) -> dict[str, Any]:
    """``{"token","url","expires_at"}`` for an upload (to a run) or a download (one digest)."""
    if direction == "upload":
        if not run_id:
            raise InvalidInput("an upload token needs run_id")
        run = runs.get_run_for_attest(session, actor, run_id)
        if run.status != "initialized":
            raise Conflict(f"run {run.id} already finished: it is {run.status}")
        token, expires = mint_token(
            secret, org=actor.org_id, direction="upload", run=run.id, now=now
        )
        audit.record(session, actor.org_id, actor, "cas.grant", run.id, direction="upload")
    elif direction == "download":
        if not digest:
            raise InvalidInput("a download token needs digest")
        parsed = Digest.parse(digest)
        if not readable(session, actor, parsed):
            raise NotFound(f"blob {parsed} not found")
        token, expires = mint_token(
            secret, org=actor.org_id, direction="download", digest=parsed, now=now
        )
        audit.record(session, actor.org_id, actor, "cas.grant", str(parsed), direction="download")
    else:
        raise InvalidInput(f"unknown direction {direction!r}", hint="upload or download")
    return {"token": token, "url": cas_url, "expires_at": rfc3339(expires)}


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


def record_blob(session: Session, org_id: str, digest: Digest, size: int) -> None:
    """Note that the organisation owns ``digest`` (idempotent within this session)."""
    if owned_size(session, org_id, digest) is None:
        session.add(CasBlob(org_id=org_id, digest=str(digest), size=size, backend="fs"))
        audit.record(session, org_id, None, "cas.upload", str(digest), size=size)


class DbBlobIndex:
    """The CAS app's view of ``cas_blobs``: one short transaction per call."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def lookup(self, org: str, digest: Digest) -> int | None:
        """The blob's size when ``org`` owns it."""
        with self._sessions() as session:
            return owned_size(session, org, digest)

    def record(self, org: str, digest: Digest, size: int) -> None:
        """Insert the ``cas_blobs`` row (a concurrent duplicate is fine)."""
        try:
            with self._sessions.begin() as session:
                record_blob(session, org, digest, size)
        except IntegrityError:
            pass
