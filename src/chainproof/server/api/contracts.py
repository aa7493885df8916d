"""``/api/v1/contracts``: contracts with immutable numbered revisions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import ContractIn, ContractOut, ContractUpdate, Page
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import contracts, requirements
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/contracts", tags=["contracts"])


@router.post("", status_code=201, response_model=ContractOut)
def create_contract(body: ContractIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Create a contract (revision 1) from YAML or JSON text."""
    row, rev = contracts.create(session, principal, body.name, body.raw, body.description)
    return contracts.view(row, rev)


@router.put("/{name}", response_model=ContractOut)
def update_contract(
    name: str, body: ContractUpdate, session: SessionDep, principal: PrincipalDep
) -> Any:
    """Add revision N+1, or return the latest when the spec is unchanged."""
    row, rev = contracts.update(session, principal, name, body.raw)
    return contracts.view(row, rev)


@router.get("", response_model=Page)
def list_contracts(
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """The latest revision of every contract."""
    rows, nxt = contracts.list_page(session, principal, limit, cursor)
    return pagination.items([contracts.view(r, contracts.revision(session, r)) for r in rows], nxt)


@router.get("/{name}/diff")
def diff_contract(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    from_: int | None = Query(None, alias="from", ge=1),
    to: int | None = Query(None, ge=1),
) -> Any:
    """What revision ``to`` (default latest) added, removed or changed since ``from``
    (default ``to - 1``): materials, runner, env allow-list, policies, annotations."""
    return requirements.revision_diff(session, principal, name, from_, to)


@router.get("/{name}/rollout")
def contract_rollout(name: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """Per workflow on the contract: its last compliant revision and since when it lags."""
    return requirements.rollout(session, principal, name)


@router.get("/{name}", response_model=ContractOut)
def get_contract(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    revision: int | None = Query(None, ge=1),
) -> Any:
    """A contract at ``revision`` (default latest)."""
    row = contracts.describe(session, principal, name)
    return contracts.view(row, contracts.revision(session, row, revision))
