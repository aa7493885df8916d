"""``/api/v1/bundles``: verify a bundle under the organisation's trust, recording nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import bundle_check

router = APIRouter(route_class=StrictJsonRoute, prefix="/bundles", tags=["bundles"])


# The bodies live here, not in schemas.py (over its size already), as runs.py's own do.
class BundleVerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bundle: dict[str, Any]
    #: The registered public key of a key-signed bundle (PEM); ignored for a keyless one.
    public_key: str | None = None
    #: Refuse a bundle without a log entry (one the control plane has not accepted).
    require_log_entry: bool = False


class LogEntryOut(BaseModel):
    log_index: int
    integrated_time: int | None


class BundleVerifyOut(BaseModel):
    verified: bool
    identity: str
    issuer: str | None
    key_signed: bool
    statement_digest: str
    predicate_type: str
    subjects: list[dict[str, Any]]
    run_id: str | None
    log_entries: list[LogEntryOut]
    signed_at: list[str]
    checks: list[str]


@router.post("/verify", response_model=BundleVerifyOut)
def verify(body: BundleVerifyIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Verify a Sigstore bundle against the organisation's trusted root (and registered
    keys) as a push does, without recording anything: the signer, the statement's digest,
    type and subjects, and the log entries checked; 422 ``verification_failed`` naming the
    failed check otherwise."""
    checked = bundle_check.verify(
        session,
        principal,
        body.bundle,
        public_key=body.public_key,
        require_log_entry=body.require_log_entry,
    )
    return checked.to_dict()
