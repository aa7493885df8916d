"""``/api/v1/tlog``: the organisation's transparency log (checkpoint, entries, consistency)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import tlog

router = APIRouter(route_class=StrictJsonRoute, prefix="/tlog", tags=["transparency log"])

_MAX_INDEX = 2**62


@router.get("/checkpoint")
def checkpoint(session: SessionDep, principal: PrincipalDep) -> Any:
    """The latest signed checkpoint (C2SP signed note) of the organisation's log."""
    return tlog.checkpoint(session, principal)


@router.get("/entries/{index}")
def entry(
    session: SessionDep,
    principal: PrincipalDep,
    index: int = Path(..., ge=0, le=_MAX_INDEX),
) -> Any:
    """One entry (Sigstore ``TransparencyLogEntry``) with its inclusion proof against the
    current tree and that tree's signed checkpoint."""
    return tlog.entry(session, principal, index)


@router.get("/proof/consistency")
def consistency(
    session: SessionDep,
    principal: PrincipalDep,
    first: int = Query(..., ge=1, le=_MAX_INDEX),
    second: int = Query(..., ge=1, le=_MAX_INDEX),
) -> Any:
    """The RFC 6962 consistency proof from tree size ``first`` to ``second``."""
    return tlog.consistency(session, principal, first, second)
