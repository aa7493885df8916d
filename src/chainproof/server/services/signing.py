"""The organisation's signing CA, short-lived certificates, registered keys, trust root."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, ServiceError
from chainproof.server.db import Organization, Project, SigningCA, SigningKey, Workflow
from chainproof.server.services import audit, runs
from chainproof.server.services.principal import Principal

if TYPE_CHECKING:
    from chainproof.core.bundle import Bundle
    from chainproof.signing.ca import CertificateAuthority

MAX_CSR = 16 * 1024


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def create_ca(session: Session, org: Organization) -> SigningCA:
    """A fresh CA for ``org`` (at ``server init`` or org creation)."""
    from chainproof.signing.ca import CertificateAuthority

    ca = CertificateAuthority.create(org.name)
    row = SigningCA(org_id=org.id, cert_pem=_text(ca.cert_pem), key_pem=_text(ca.key_pem))
    session.add(row)
    session.flush()
    audit.record(session, org.id, None, "signing_ca.create", row.id)
    return row


def active_cas(session: Session, org_id: str) -> list[SigningCA]:
    """The organisation's CAs, newest first (all are trusted; the newest one issues)."""
    stmt = (
        select(SigningCA)
        .where(SigningCA.org_id == org_id, SigningCA.active.is_(True))
        .order_by(SigningCA.created_at.desc())
    )
    return list(session.scalars(stmt))


def org_ca(session: Session, org_id: str) -> CertificateAuthority:
    """The organisation's issuing CA (its newest active one), loaded with its key.

    Raises ServiceError when the organisation has no CA.
    """
    from chainproof.signing.ca import CertificateAuthority

    cas = active_cas(session, org_id)
    if not cas:
        raise ServiceError("this organisation has no signing CA")
    return CertificateAuthority.from_pem(cas[0].cert_pem.encode(), cas[0].key_pem.encode())


def sign_as_verifier(
    session: Session, org_id: str, org_name: str, statement: Mapping[str, Any]
) -> Bundle:
    """Sign a statement the control plane makes about ``org``'s runs (VSA, provenance).

    Keyless, like a run's push: a one-use key certified by the organisation's CA with the
    SAN ``chainproof://{org}/verifier``, so verifiers check it against the same trusted root.
    """
    from chainproof.signing.ca import verifier_identity_uri
    from chainproof.signing.signer import EphemeralSigner

    signer = EphemeralSigner()
    uri = verifier_identity_uri(org_name)
    chain = org_ca(session, org_id).issue(signer.csr(uri), identity_uri=uri)
    return signer.sign(statement, chain)


def identity_for(session: Session, actor: Principal, run_id: str) -> str:
    """The SAN URI a run's signing certificate carries."""
    from chainproof.signing.ca import identity_uri

    run = runs.get_run(session, actor, run_id)
    wf = session.get(Workflow, run.workflow_id)
    assert wf is not None
    project = session.get(Project, wf.project_id)
    assert project is not None
    return identity_uri(actor.org_name, project.name, wf.name, run.id)


def issue_certificate(session: Session, actor: Principal, run_id: str, csr_pem: str) -> list[str]:
    """A 10-minute certificate for the CSR, naming this run; the chain, leaf first."""
    if not csr_pem or len(csr_pem) > MAX_CSR:
        raise InvalidInput("a PEM certificate signing request is required")
    run = runs.get_run_for_attest(session, actor, run_id)
    if run.status != "initialized":
        raise Conflict(f"run {run.id} already finished: it is {run.status}")
    ca = org_ca(session, actor.org_id)
    uri = identity_for(session, actor, run_id)
    chain = ca.issue(csr_pem.encode(), identity_uri=uri)
    audit.record(session, actor.org_id, actor, "certificate.issue", run.id, identity=uri)
    return [_text(c) for c in chain]


def trust_root(session: Session, actor: Principal) -> dict[str, Any]:
    """The organisation's Sigstore-shaped trusted root."""
    import json

    from chainproof.signing.trust import trusted_root_json

    cas = active_cas(session, actor.org_id)
    if not cas:
        raise ServiceError("this organisation has no signing CA")
    start = min(c.created_at for c in cas)
    root = trusted_root_json([c.cert_pem.encode() for c in cas], start=start)
    if isinstance(root, (str, bytes)):
        loaded: dict[str, Any] = json.loads(root)
        return loaded
    return dict(root)


def _normal_pem(pem: str) -> str:
    return "".join(pem.split())


def register_key(session: Session, actor: Principal, name: str, public_key: str) -> SigningKey:
    """Register a public key whose bundles this organisation accepts (owner/admin)."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    actor.require_admin()
    try:
        load_pem_public_key(public_key.encode())
    except ValueError:
        raise InvalidInput("public_key is not a PEM public key") from None
    exists = session.scalar(
        select(SigningKey).where(SigningKey.org_id == actor.org_id, SigningKey.name == name)
    )
    if exists is not None:
        raise Conflict(f"signing key {name!r} already exists")
    row = SigningKey(org_id=actor.org_id, name=name, public_key_pem=public_key.strip())
    session.add(row)
    session.flush()
    audit.record(session, actor.org_id, actor, "signing_key.register", row.id, name=name)
    return row


def list_keys(session: Session, actor: Principal) -> list[SigningKey]:
    """The organisation's registered public keys, by name."""
    stmt = select(SigningKey).where(SigningKey.org_id == actor.org_id).order_by(SigningKey.name)
    return list(session.scalars(stmt))


def registered_key(session: Session, org_id: str, public_key: str) -> SigningKey | None:
    """The registered key equal to ``public_key`` (PEM, whitespace-insensitive)."""
    wanted = _normal_pem(public_key)
    for row in session.scalars(select(SigningKey).where(SigningKey.org_id == org_id)):
        if _normal_pem(row.public_key_pem) == wanted:
            return row
    return None
