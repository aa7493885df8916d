"""``/api/v1/signing`` (certificates, keys, CA rotation) and ``/api/v1/trust/root``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chainproof.server.api.deps import PrincipalDep, SessionDep
from chainproof.server.api.schemas import (
    CertificateIn,
    CertificateOut,
    SigningCAOut,
    SigningKeyIn,
    SigningKeyOut,
)
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.services import signing

router = APIRouter(route_class=StrictJsonRoute, tags=["signing"])


@router.post("/signing/certificates", response_model=CertificateOut)
def certificate(body: CertificateIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Certify a CSR for a run: a 10-minute certificate naming the run, with an SCT."""
    return {"chain": signing.issue_certificate(session, principal, body.run_id, body.csr)}


@router.get("/signing/ca", response_model=list[SigningCAOut])
def list_cas(session: SessionDep, principal: PrincipalDep) -> Any:
    """The organisation's CAs, newest first: the one that issues and the rotated ones, which
    stay in the trusted root until the end of their window (``trusted_until``)."""
    principal.require_reader()
    return signing.ca_views(session, principal)


@router.post("/signing/ca/rotate", status_code=201, response_model=SigningCAOut)
def rotate_ca(session: SessionDep, principal: PrincipalDep) -> Any:
    """Start a new CA that issues from now on (owner/admin); bundles certified by the
    previous one keep verifying against the trusted root."""
    row = signing.rotate_ca(session, principal)
    return next(v for v in signing.ca_views(session, principal) if v["id"] == row.id)


@router.post("/signing/keys", status_code=201, response_model=SigningKeyOut)
def register_key(body: SigningKeyIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Register a public key whose bundles this organisation accepts (owner/admin)."""
    row = signing.register_key(session, principal, body.name, body.public_key)
    return {"id": row.id, "name": row.name, "public_key": row.public_key_pem}


@router.get("/signing/keys", response_model=list[SigningKeyOut])
def list_keys(session: SessionDep, principal: PrincipalDep) -> Any:
    """The public keys whose bundles this organisation accepts."""
    return [
        {"id": r.id, "name": r.name, "public_key": r.public_key_pem}
        for r in signing.list_keys(session, principal)
    ]


@router.get("/trust/root")
def trust_root(session: SessionDep, principal: PrincipalDep) -> Any:
    """The organisation's trusted root (Sigstore ``trusted_root.json`` shape)."""
    return signing.trust_root(session, principal)
