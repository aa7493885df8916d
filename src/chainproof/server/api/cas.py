"""``POST /api/v1/cas/tokens``: short-lived CAS grants."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chainproof.server.api.deps import PrincipalDep, SessionDep, SettingsDep
from chainproof.server.api.schemas import CasTokenIn, CasTokenOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import cas

router = APIRouter(route_class=StrictJsonRoute, prefix="/cas", tags=["cas"])


class CasTokenRequest(CasTokenIn):
    """``CasTokenIn`` plus ``project``: where a run-less upload is filed (audit log)."""

    project: str | None = None


@router.post("/tokens", response_model=CasTokenOut)
def cas_token(
    body: CasTokenRequest, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Any:
    """An upload token (for a run, or run-less for a user), or a download token for one
    readable digest."""
    return cas.grant(
        session,
        principal,
        cas_url=settings.cas_base_url,
        direction=body.direction,
        run_id=body.run_id,
        digest=body.digest,
        project=body.project,
        embedded_max=settings.cas_max_blob_size or None,
    )
