"""CAS grants (short-lived JWTs), which blobs each organisation owns and where.

The CAS app (cas/app.py) sees the database through two adapters defined here:
:class:`DbBlobIndex` (``cas_blobs``: which organisation uploaded which digest, into which
backend; ``cas_uploads``: who uploaded it outside any run) and :class:`DbBackendSource` (a
token's ``backend`` claim → the organisation's configured backend, built once and rebuilt
when an admin changes it; ``inline`` → :class:`InlineStore`, the bytes embedded in stored
statements).

Who may download a digest (docs/cas.md, "Who can download what"):

- anyone who can read a run that references it as a stored or inline material
  (docs/architecture.md §6);
- for a blob uploaded outside any run (``artifact upload``): its uploader (the same API
  token, or any token of the same user), the organisation's owners and admins, and, when the
  upload was filed under a project, every user of the organisation (all user roles read the
  organisation's projects) and the robots that may read that project's runs (unscoped, or
  scoped to that project but not to one workflow).

Everybody else gets 404, the same answer as for a digest nobody stored.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chainproof.cas import providers
from chainproof.cas.app import BackendSource, Target
from chainproof.cas.backend import Backend
from chainproof.cas.tokens import EMBEDDED, INLINE, CasGrant, mint_token
from chainproof.core.digest import Digest
from chainproof.core.statement import MaterialDescriptor, Statement
from chainproof.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    VerificationError,
)
from chainproof.server.db import (
    ApiToken,
    Attestation,
    CasBackend,
    CasBlob,
    CasUpload,
    Material,
    Workflow,
    WorkflowRun,
)
from chainproof.server.services import audit, cas_backends, cas_uploads, runs, visibility
from chainproof.server.services.cas_backends import BackendFactory
from chainproof.server.support import sealed
from chainproof.server.support.principal import ADMIN_ROLES, Principal
from chainproof.server.support.times import rfc3339


def grant(
    session: Session,
    actor: Principal,
    *,
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
    under an existing ``project``. Either way the CAS records the blob in ``cas_blobs`` once
    stored, and a run-less upload also in ``cas_uploads`` (its uploader and project), which
    makes it downloadable as the module docstring says.
    Uploads go to the organisation's current upload target (default, or fallback while the
    default is invalid, or the embedded store); when that target is an ``inline`` backend the
    client embeds the file in the attestation instead (run-less uploads are refused: there is
    no attestation to hold them). A download token names the backend that holds the digest,
    or ``inline`` for bytes held in a stored statement.
    ``backend`` is ``{"name","provider","max_blob_size","streams"}`` (``streams``: the CAS
    takes the blob's digest after its bytes, ``POST /uploads``).
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
        if not run_id and target is not None and target.provider == "inline":
            raise Conflict(
                f"the organisation's CAS backend {target.name!r} is inline: it embeds evidence "
                "in attestations and stores no blob uploaded outside a run",
                hint="upload for a run (attestation add), or ask an admin to make a blob store "
                "(fs, oci, s3, azure-blob) the default",
            )
        token, expires = mint_token(
            sealed.server_secret(session),
            org=actor.org_id,
            direction="upload",
            backend=target.id if target else EMBEDDED,
            run=subject if run_id else None,
            uploader=None if run_id else actor.token_id,
            project=None if run_id else (subject or actor.project_id),
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
        target, claim = download_claim(session, actor, parsed)
        token, expires = mint_token(
            sealed.server_secret(session),
            org=actor.org_id,
            direction="download",
            backend=claim,
            digest=parsed,
            now=now,
        )
        audit.record(session, actor.org_id, actor, "cas.grant", str(parsed), direction="download")
    else:
        raise InvalidInput(f"unknown direction {direction!r}", hint="upload or download")
    view = cas_backends.target_view(target, embedded_max)
    if direction == "download" and claim == INLINE:
        view = {"name": INLINE, "provider": "inline", "max_blob_size": None, "streams": False}
    return {"token": token, "url": cas_url, "expires_at": rfc3339(expires), "backend": view}


def download_claim(
    session: Session, actor: Principal, digest: Digest
) -> tuple[CasBackend | None, str]:
    """The backend holding a digest the caller may download (None: the embedded store) and
    the claim naming it (its id, ``embedded`` or ``inline``); NotFound when not readable."""
    if not readable(session, actor, digest):
        raise NotFound(f"blob {digest} not found")
    target = cas_backends.holder_of(session, actor.org_id, str(digest))
    claim = target.id if target else EMBEDDED
    if target is None and owned_size(session, actor.org_id, digest) is None:
        claim = INLINE  # readable, yet in no blob store: held in a stored statement
    return target, claim


def open_download(
    session: Session, actor: Principal, source: BackendSource, digest: Digest
) -> Iterator[bytes]:
    """The bytes of ``digest`` when the caller may download it (as :func:`grant` would grant
    it: NotFound otherwise), from the backend holding them; audited as a download grant."""
    _, claim = download_claim(session, actor, digest)
    audit.record(session, actor.org_id, actor, "cas.grant", str(digest), direction="download")
    return iter(source.target(actor.org_id, claim).backend.open(digest))


def _runless_upload(session: Session, actor: Principal, project: str | None) -> str | None:
    """Check a run-less upload grant; the project's id (the audit target) when named."""
    if actor.is_robot:
        raise Forbidden(
            "robot tokens upload evidence only for a run",
            hint="start one with `attestation init`, or pass the run's id (--run-id)",
        )
    if not project:
        actor.require_attestor()
        return None
    actor.require_attestor_somewhere()
    return visibility.project(session, actor, project, "attest").id


def readable(session: Session, actor: Principal, digest: Digest) -> bool:
    """Whether the caller may download ``digest`` (module docstring): a run it can read
    references it as a stored or inline material, or it may read the run-less upload."""
    stmt = (
        select(Material.id)
        .join(WorkflowRun, WorkflowRun.id == Material.run_id)
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .where(
            Material.digest == str(digest),
            or_(Material.uploaded.is_(True), Material.inline.is_(True)),
            WorkflowRun.org_id == actor.org_id,
        )
        .limit(1)
    )
    if actor.project_id:
        stmt = stmt.where(Workflow.project_id == actor.project_id)
    if actor.workflow_id:
        stmt = stmt.where(Workflow.id == actor.workflow_id)
    if actor.run_id:
        stmt = stmt.where(WorkflowRun.id == actor.run_id)
    stmt = visibility.narrow(stmt, actor, Workflow.project_id)
    return session.scalar(stmt) is not None or _upload_readable(session, actor, digest)


def _upload_readable(session: Session, actor: Principal, digest: Digest) -> bool:
    """Whether the caller may read a run-less upload of ``digest`` (module docstring)."""
    uploads = session.scalars(
        select(CasUpload).where(CasUpload.org_id == actor.org_id, CasUpload.digest == str(digest))
    ).all()
    if not uploads:
        return False
    if actor.is_robot:
        if actor.workflow_id:  # a run-less upload belongs to no workflow
            return False
        return any(
            u.project_id is not None and actor.project_id in (None, u.project_id) for u in uploads
        )
    if actor.kind == "system" or actor.role in ADMIN_ROLES:
        return True
    user_id = actor.user_id or session.scalar(
        select(ApiToken.user_id).where(ApiToken.id == actor.token_id)
    )
    roles = actor.project_roles
    return any(
        (u.project_id is not None and (roles is None or u.project_id in roles))
        or (actor.token_id is not None and u.token_id == actor.token_id)
        or (user_id is not None and u.user_id == user_id)
        for u in uploads
    )


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


def uploaded_by(session: Session, grant: CasGrant, digest: Digest) -> int | None:
    """The size of ``digest`` when the run-less grant's uploader already uploaded it under the
    same project (None: it must send the bytes, which the CAS hashes before recording)."""
    return session.scalar(
        select(CasUpload.size)
        .where(
            CasUpload.org_id == grant.org,
            CasUpload.digest == str(digest),
            CasUpload.token_id == grant.uploader,
            CasUpload.project_id.is_(None)
            if grant.project is None
            else CasUpload.project_id == grant.project,
        )
        .limit(1)
    )


def record_upload(session: Session, grant: CasGrant, digest: Digest, size: int) -> None:
    """Record the run-less upload of ``digest`` by the grant's uploader; idempotent."""
    if uploaded_by(session, grant, digest) is not None:
        return
    user_id = session.scalar(select(ApiToken.user_id).where(ApiToken.id == grant.uploader))
    backend_id = session.scalar(
        select(CasBlob.backend_id).where(CasBlob.org_id == grant.org, CasBlob.digest == str(digest))
    )
    session.add(
        CasUpload(
            org_id=grant.org,
            digest=str(digest),
            size=size,
            backend_id=backend_id,
            token_id=grant.uploader,
            user_id=user_id,
            project_id=grant.project,
        )
    )
    audit.record(session, grant.org, None, "cas.runless_upload", str(digest), project=grant.project)


class InlineStore:
    """Read-only :class:`Backend` over the bytes embedded (base64 ``content``) in the stored
    statements of one organisation's runs: what an ``inline`` CAS backend holds.

    Every read re-hashes the embedded bytes; a mismatch is VerificationError, never bytes.
    """

    def __init__(self, sessions: sessionmaker[Session], org: str, name: str = INLINE) -> None:
        self._sessions = sessions
        self._org = org
        self._name = name

    def _bytes(self, digest: Digest) -> bytes | None:
        with self._sessions() as session:
            statement = session.scalar(
                select(Attestation.statement)
                .join(Material, Material.run_id == Attestation.run_id)
                .join(WorkflowRun, WorkflowRun.id == Attestation.run_id)
                .where(
                    WorkflowRun.org_id == self._org,
                    Material.digest == str(digest),
                    Material.inline.is_(True),
                )
                .limit(1)
            )
        if statement is None:
            return None
        data = inline_content(statement, digest)
        if data is None:
            return None
        if hashlib.sha256(data).hexdigest() != digest.hex:
            raise VerificationError(f"the inline content of {digest} does not match its digest")
        return data

    def exists(self, digest: Digest) -> int | None:
        """The embedded document's size, or None."""
        data = self._bytes(digest)
        return None if data is None else len(data)

    def open(self, digest: Digest) -> Iterator[bytes]:
        """The embedded bytes (one chunk: inline documents are small)."""
        data = self._bytes(digest)
        if data is None:
            raise NotFound(f"blob {digest} not found")
        return iter([data])

    def put(self, digest: Digest, chunks: Iterable[bytes], *, size: int | None = None) -> int:
        """Refused: inline evidence travels inside the attestation."""
        raise InvalidInput(
            f"CAS backend {self._name!r} is inline: it stores no blobs",
            hint="`attestation add` embeds such files in the attestation; nothing is uploaded",
        )

    def delete(self, digest: Digest) -> None:
        """Nothing to delete: the bytes are part of a signed attestation."""

    def close(self) -> None:
        """Nothing to release."""


def inline_content(statement: Mapping[str, Any], digest: Digest) -> bytes | None:
    """The bytes a stored statement holds inline for the material with ``digest``, if any."""
    try:
        materials = Statement.from_json(statement).materials
    except InvalidInput:
        return None  # push stores only statements whose materials parse
    for material in materials:
        if material.inline and material.digest == digest:
            return material.content
    return None


def check_inline(
    session: Session, org_id: str, materials: Sequence[MaterialDescriptor]
) -> set[str]:
    """Digests of the materials held inline (annotation ``chainproof.material.inline``).

    Push calls it before storing: each one's ``content`` must be bytes that hash to its
    digest and fit the organisation's inline backends (the largest cap among them); an
    organisation without an inline backend takes none. VerificationError otherwise.
    """
    wanted = [m for m in materials if m.inline]
    if not wanted:
        return set()
    caps = session.scalars(
        select(CasBackend.max_blob_size).where(
            CasBackend.org_id == org_id, CasBackend.provider == "inline"
        )
    ).all()
    held: set[str] = set()
    for material in wanted:
        name, digest, data = material.name, material.digest, material.content
        if digest.algorithm != "sha256":
            raise VerificationError(f"inline material {name!r} has no sha256 digest")
        if not caps:
            raise VerificationError(
                f"material {name!r} is embedded inline, but the organisation has no inline "
                "CAS backend",
                hint="an admin adds one with `chainproof cas-backend add inline`",
            )
        if data is None:
            raise VerificationError(f"inline material {name!r} has no content")
        if len(data) > max(caps):
            raise VerificationError(
                f"inline material {name!r} is {len(data)} bytes: the organisation's inline "
                f"backends embed at most {max(caps)}",
                hint="configure a blob store (fs, oci, s3, azure-blob) for larger evidence",
            )
        if Digest.of_bytes(data) != digest:
            raise VerificationError(f"the inline content of material {name!r} is not {digest}")
        held.add(str(digest))
    return held


def mark_inline(row: Material, held: set[str]) -> None:
    """Flag a material row whose bytes live in the stored statement (not in ``value``)."""
    if row.digest in held:
        row.inline = True
        row.value = None


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

    def uploaded_by(self, grant: CasGrant, digest: Digest) -> int | None:
        """The size when the grant's run (or run-less uploader) already uploaded ``digest``."""
        with self._sessions() as session:
            if grant.run is not None:
                return cas_uploads.run_upload_size(session, grant.run, digest)
            return uploaded_by(session, grant, digest)

    def record_upload(self, grant: CasGrant, digest: Digest, size: int) -> None:
        """Insert the ``cas_run_uploads`` row of a run's upload, or the ``cas_uploads`` row
        of a run-less one."""
        with self._sessions.begin() as session:
            if grant.run is not None:
                cas_uploads.record_run_upload(session, grant.org, grant.run, digest, size)
            else:
                record_upload(session, grant, digest, size)


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
        if backend == INLINE:
            return Target(InlineStore(self._sessions, org), INLINE, None, "inline")
        with self._sessions() as session:
            row = cas_backends.by_claim(session, org, backend)
            assert row is not None
            if row.provider == "inline":
                store = InlineStore(self._sessions, org, row.name)
                return Target(store, row.name, row.max_blob_size, "inline")
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
