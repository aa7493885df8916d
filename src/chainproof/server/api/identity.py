"""``GET /api/v1/whoami``."""

from __future__ import annotations

from fastapi import APIRouter

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import WhoAmI
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.db import User
from chainproof.server.services import visibility

router = APIRouter(route_class=StrictJsonRoute, tags=["identity"])


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: PrincipalDep, session: SessionDep) -> dict[str, object]:
    """The organisation and token (or sign-in session) the credentials belong to, and the
    person behind them; ``project_roles``: the projects a member or viewer holding project
    roles sees (null: every project)."""
    user = session.get(User, principal.user_id) if principal.user_id else None
    return {
        "user": {"id": user.id, "email": user.email, "name": user.name} if user else None,
        "org": {"id": principal.org_id, "name": principal.org_name},
        "token": {
            "id": principal.actor_id,
            "name": principal.token_name,
            "kind": principal.kind,
            "role": principal.role,
            "project": principal.project_name,
            "workflow": principal.workflow_name,
            "project_roles": visibility.roles_view(session, principal),
        },
    }
