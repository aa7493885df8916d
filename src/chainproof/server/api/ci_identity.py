"""``/api/v1/ci-identities``: trusted CI issuers, and the exchange of a job's ID token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from chainproof.server.api.deps import PrincipalDep, SessionDep, SettingsDep
from chainproof.server.api.schemas import CiExchangeIn, CiExchangeOut, CiIdentityIn, CiIdentityOut
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import ci_identity
from chainproof.server.support.oidc import JwksCache
from chainproof.server.support.times import rfc3339

router = APIRouter(route_class=StrictJsonRoute, prefix="/ci-identities", tags=["ci-identity"])


@router.post("", status_code=201, response_model=CiIdentityOut)
def create_ci_identity(body: CiIdentityIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Trust a CI issuer's jobs whose ID-token claims satisfy every rule (owner/admin)."""
    fields = body.model_dump()
    row = ci_identity.create(session, principal, issuer_url=fields.pop("issuer"), **fields)
    return ci_identity.view(session, row)


@router.get("", response_model=list[CiIdentityOut])
def list_ci_identities(session: SessionDep, principal: PrincipalDep) -> Any:
    """The organisation's trusted CI issuers (owner/admin)."""
    return [ci_identity.view(session, row) for row in ci_identity.list_all(session, principal)]


@router.delete("/{name}", status_code=204)
def remove_ci_identity(name: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Stop trusting a CI issuer registration; tokens already exchanged run out."""
    ci_identity.remove(session, principal, name)
    return Response(status_code=204)


@router.post("/exchange", response_model=CiExchangeOut)
def exchange_id_token(
    body: CiExchangeIn, request: Request, session: SessionDep, settings: SettingsDep
) -> Any:
    """A CI job's OIDC ID token for a short-lived token scoped to its workflow: no API token
    is sent, the ID token is the credential (401 when it is not a valid token of a trusted
    issuer or was exchanged before, 403 naming the failed rule when no registration accepts
    the job). ``run_id``: a later step of the job whose ID token started that run; the token
    answered is then bound to that run (docs/ci-identity.md, "Replays")."""
    keys: JwksCache = request.app.state.oidc_keys
    row, secret = ci_identity.exchange(
        session,
        keys,
        org=body.org,
        id_token=body.id_token,
        lifetime_seconds=settings.ci_token_seconds,
        run_id=body.run_id,
    )
    scope = ci_identity.token_scope(session, row)
    return {
        "token": secret,
        "expires_at": rfc3339(row.expires_at),
        **scope,
        "ci_identity": row.ci_identity or {},
        "run_id": row.run_id,
    }
