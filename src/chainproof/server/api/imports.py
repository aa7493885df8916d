"""``/api/v1/imports``: bring attestations made by other tools into the organisation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import imports

router = APIRouter(route_class=StrictJsonRoute, prefix="/imports", tags=["imports"])


class ChainloopImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A Sigstore bundle Chainloop signed (``chainloop.dev/attestation/v0.2`` predicate).
    bundle: dict[str, Any]
    #: PEM certificates of the Chainloop CA(s) the bundle must chain to (1 to
    #: ``imports.MAX_CAS``; counted by the service, after the caller's role).
    ca_certificates: list[str]


@router.post("/chainloop")
def import_chainloop(
    body: ChainloopImportIn, response: Response, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Verify one Chainloop bundle and record it as a finished run (owner or admin): 201
    with the new run, or 200 with the run an earlier import of the same bundle recorded."""
    result = imports.import_chainloop(session, principal, body.bundle, body.ca_certificates)
    response.status_code = 201 if result["created"] else 200
    return result
