"""``/api/v1/discover/{digest}`` and ``/api/v1/components``: the discover index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import Page
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import components, discover
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, tags=["discover"])


@router.get("/discover/{digest}", response_model=dict[str, Any])
def discover_digest(
    digest: str,
    session: SessionDep,
    principal: PrincipalDep,
    depth: int = Query(1, ge=1, le=discover.MAX_DEPTH),
) -> Any:
    """The attestations (runs) naming ``digest`` as subject or material, what else they name,
    and so on to ``depth``; 404 when no attestation of the organisation names it."""
    return discover.discover(session, principal, digest, depth)


@router.get("/components", response_model=Page)
def search_components(
    session: SessionDep,
    principal: PrincipalDep,
    purl: str | None = None,
    name: str | None = None,
    version: str | None = None,
    license: str | None = None,
    latest: bool = False,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Components of the organisation's SBOMs by purl, name (and version range) or license,
    newest run first; ``latest``: each workflow's latest successful run only."""
    where = components.ComponentFilter(purl, name, version, license, latest)
    rows, nxt = components.search(session, principal, where, limit=limit, cursor=cursor)
    return pagination.items(rows, nxt)
