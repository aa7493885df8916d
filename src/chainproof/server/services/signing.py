"""The organisation's signing CA, short-lived certificates, registered keys, trust root.

Certificates embed an SCT from the organisation's CT-log key and the trusted root lists the
CAs, the transparency-log keys and the CT-log keys (services/trust_keys.py holds them), so
that Sigstore verifiers accept chainproof bundles with the root alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, ServiceError
from chainproof.server.db import Organization, Project, SigningCA, SigningKey, Workflow
from chainproof.server.services import audit, runs, trust_keys
from chainproof.server.services.principal import Principal

if TYPE_CHECKING:
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


def identity_for(session: Session, actor: Principal, run_id: str) -> str:
    """The SAN URI a run's signing certificate carries."""
    from chainproof.signing.ca import identity_uri

    run = runs.get_run(session, actor, run_id)
    wf = session.get(Workflow, run.workflow_id)
    assert wf is not None
    project = session.get(Project, wf.project_id)
    assert project is not None
    return identity_uri(actor.org_name, project.name, wf.name, run.id)


def org_ca(session: Session, org_id: str) -> CertificateAuthority:
    """The organisation's issuing CA (its newest active one)."""
    from chainproof.signing.ca import CertificateAuthority

    cas = active_cas(session, org_id)
    if not cas:
        raise ServiceError("this organisation has no signing CA")
    return CertificateAuthority.from_pem(cas[0].cert_pem.encode(), cas[0].key_pem.encode())


def issue_certificate(
    session: Session, actor: Principal, run_id: str, csr_pem: str, *, master_key: str
) -> list[str]:
    """A 10-minute certificate for the CSR, naming this run, with an SCT from the
    organisation's CT log; the chain, leaf first."""
    from chainproof.signing.ctlog import CTLog

    if not csr_pem or len(csr_pem) > MAX_CSR:
        raise InvalidInput("a PEM certificate signing request is required")
    run = runs.get_run_for_attest(session, actor, run_id)
    if run.status != "initialized":
        raise Conflict(f"run {run.id} already finished: it is {run.status}")
    ca = org_ca(session, actor.org_id)
    ct_key = trust_keys.current_key(session, actor.org_id, "ctlog", master_key)
    uri = identity_for(session, actor, run_id)
    chain = ca.issue(csr_pem.encode(), identity_uri=uri, ct_log=CTLog(ct_key.private_key))
    audit.record(session, actor.org_id, actor, "certificate.issue", run.id, identity=uri)
    return [_text(c) for c in chain]


def trust_root(session: Session, actor: Principal, *, master_key: str) -> dict[str, Any]:
    """The organisation's Sigstore trusted root: CAs, transparency-log and CT-log keys
    (current and rotated out, with their windows). The log keys are created on first use,
    so the root a verifier downloads already names the keys later bundles rely on."""
    from chainproof.server.tlog import origin_for
    from chainproof.signing.trust import LogInstance, trusted_root_json

    cas = active_cas(session, actor.org_id)
    if not cas:
        raise ServiceError("this organisation has no signing CA")
    logs: dict[str, list[LogInstance]] = {}
    for purpose in ("tlog", "ctlog"):
        trust_keys.current_key(session, actor.org_id, purpose, master_key)
        logs[purpose] = [
            LogInstance(
                base_url=f"https://{origin_for(actor.org_name)}"
                + ("" if purpose == "tlog" else "/ct"),
                public_key_der=row.public_key_der,
                start=row.valid_from,
                end=row.valid_until,
            )
            for row in trust_keys.all_keys(session, actor.org_id, purpose)
        ]
    start = min(c.created_at for c in cas)
    return trusted_root_json(
        [c.cert_pem.encode() for c in cas], start=start, tlogs=logs["tlog"], ctlogs=logs["ctlog"]
    )


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
