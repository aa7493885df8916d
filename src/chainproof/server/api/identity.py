"""``GET /api/v1/whoami``."""

from __future__ import annotations

from fastapi import APIRouter

from chainproof.server.api.deps import PrincipalDep
from chainproof.server.api.schemas import WhoAmI
from chainproof.server.api.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, tags=["identity"])


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: PrincipalDep) -> dict[str, object]:
    """The organisation and token the credentials belong to."""
    return {
        "org": {"id": principal.org_id, "name": principal.org_name},
        "token": {
            "id": principal.token_id,
            "name": principal.token_name,
            "kind": principal.kind,
            "role": principal.role,
            "project": principal.project_name,
            "workflow": principal.workflow_name,
        },
    }
