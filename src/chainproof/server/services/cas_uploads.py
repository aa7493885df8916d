"""Which run sent which blob to the CAS (``cas_run_uploads``): proof that the run holds the
bytes.

A run's upload token lets the CAS record each digest the run sent. When the organisation
already stores the digest the CAS still reads and hashes the run's copy before recording it
(as for run-less uploads, services/cas.py), so knowing a digest proves nothing. Push accepts
a CAS material only when its run uploaded it or the pusher can already read it
(docs/cas.md, "Who can download what"): otherwise a robot scoped to one workflow could name
another workflow's digest in its statement and then download it through its own run.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainproof.core.digest import Digest
from chainproof.server.db import CasRunUpload


def run_upload_size(session: Session, run_id: str, digest: Digest) -> int | None:
    """The size of ``digest`` when run ``run_id`` uploaded it, else None."""
    return session.scalar(
        select(CasRunUpload.size).where(
            CasRunUpload.run_id == run_id, CasRunUpload.digest == str(digest)
        )
    )


def record_run_upload(
    session: Session, org_id: str, run_id: str, digest: Digest, size: int
) -> None:
    """Note that run ``run_id`` sent ``digest``; idempotent (a concurrent duplicate is
    fine)."""
    if run_upload_size(session, run_id, digest) is not None:
        return
    try:
        with session.begin_nested():
            session.add(CasRunUpload(org_id=org_id, run_id=run_id, digest=str(digest), size=size))
    except IntegrityError:
        pass
