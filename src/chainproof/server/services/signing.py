"""The organisation's signing CA, short-lived certificates, registered keys, trust root.

CA keys at rest: ``signing_cas.key_pem`` holds the CA's PKCS#8 key sealed with AES-256-GCM
under the server's master key (support/sealed.py, purpose :data:`CA_KEY_PURPOSE`, bound to
the row id), written as ``sealed:v1:<base64>``. Rows from before sealing hold clear PEM; they
are sealed when the control plane starts (:func:`seal_clear_ca_keys`) and, should another
process meet one first, on first use (:func:`org_ca`). The master key reaches these
functions through the session: the app's sessionmaker carries it in ``Session.info``
(``make_sessionmaker(engine, secret_key=...)``).

Certificates embed an SCT from the organisation's CT-log key, and the trusted root lists the
CAs, the transparency-log and CT-log keys and the TSA chains (services/trust_keys.py holds
the keys), so that Sigstore verifiers accept chainproof bundles with the root alone.

Rotation (:func:`rotate_ca`) adds a CA; the newest CA issues. Every CA stays trusted: the
trusted root lists each with its validity window, a rotated CA's ending when its successor
was created plus one leaf lifetime (:data:`~chainproof.signing.ca.LEAF_VALIDITY`), because a
certificate issued just before the rotation signs, and is timestamped, up to then.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, InvalidInput, ServiceError
from chainproof.server.db import Organization, Project, SigningCA, SigningKey, Workflow
from chainproof.server.db.base import new_id
from chainproof.server.services import audit, runs, trust_cache, trust_keys
from chainproof.server.support import sealed
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

if TYPE_CHECKING:
    from chainproof.core.bundle import Bundle
    from chainproof.signing.ca import CertificateAuthority
    from chainproof.signing.trust import TrustedRoot

MAX_CSR = 16 * 1024
CA_KEY_PURPOSE = b"chainproof signing-ca key v1"
_SEALED_PREFIX = trust_cache.SEALED_PREFIX


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _seal_key(session: Session, row: SigningCA, key_pem: bytes) -> None:
    blob = sealed.seal(sealed.server_secret(session), CA_KEY_PURPOSE, key_pem, row.id)
    row.key_pem = _SEALED_PREFIX + base64.b64encode(blob).decode("ascii")


def _open_key(session: Session, row: SigningCA) -> bytes:
    """The row's CA key, PEM; seals it in place when the row still holds it in clear."""
    stored = row.key_pem
    if not stored.startswith(_SEALED_PREFIX):
        clear = stored.encode()
        _seal_key(session, row, clear)
        return clear
    blob = base64.b64decode(stored[len(_SEALED_PREFIX) :])
    secret = sealed.server_secret(session)
    try:
        return sealed.unseal(secret, CA_KEY_PURPOSE, blob, row.id, "CA key")
    except ServiceError:
        raise ServiceError(
            "the signing CA key cannot be decrypted with this server's secret key",
            hint="start the server with the secret key it had when the CA was created "
            "(CHAINPROOF_SECRET_KEY or <data-dir>/secret.key)",
        ) from None


def _new_ca_row(session: Session, org: Organization) -> SigningCA:
    from chainproof.signing.ca import CertificateAuthority

    ca = CertificateAuthority.create(org.name)
    row = SigningCA(id=new_id(), org_id=org.id, cert_pem=_text(ca.cert_pem), key_pem="")
    _seal_key(session, row, ca.key_pem)
    session.add(row)
    session.flush()
    trust_cache.forget(session)
    return row


def create_ca(session: Session, org: Organization) -> SigningCA:
    """A fresh CA for ``org`` (at ``server init`` or org creation), its key sealed."""
    row = _new_ca_row(session, org)
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
    """The organisation's issuing CA (the newest), its key unsealed.

    Raises ServiceError when the organisation has no CA or the key does not open with this
    server's secret key.
    """
    from chainproof.signing.ca import CertificateAuthority

    def build() -> CertificateAuthority:
        cas = active_cas(session, org_id)
        if not cas:
            raise ServiceError("this organisation has no signing CA")
        return CertificateAuthority.from_pem(cas[0].cert_pem.encode(), _open_key(session, cas[0]))

    cached = trust_cache.material(session, org_id)
    ca: CertificateAuthority = build() if cached is None else cached.get("ca", build)
    return ca


def sign_as_verifier(
    session: Session,
    org_id: str,
    org_name: str,
    statement: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Bundle:
    """Sign a statement the control plane makes about ``org``'s runs (VSA, provenance).

    Keyless, like a run's push: a one-use key certified by the organisation's CA with the
    SAN ``chainproof://{org}/verifier`` and an SCT from the organisation's CT log, so
    verifiers check it against the same trusted root. The caller notarises the bundle
    (:func:`chainproof.server.services.tlog.notarise`) at the same ``now``, which starts the
    certificate's validity, so the logged time falls inside it.
    """
    from chainproof.signing.ca import verifier_identity_uri
    from chainproof.signing.ctlog import CTLog
    from chainproof.signing.signer import EphemeralSigner

    signer = EphemeralSigner()
    uri = verifier_identity_uri(org_name)
    ct_key = trust_keys.current_key(session, org_id, "ctlog")
    chain = org_ca(session, org_id).issue(
        signer.csr(uri), identity_uri=uri, ct_log=CTLog(ct_key.private_key), now=now
    )
    return signer.sign(statement, chain)


def seal_clear_ca_keys(session: Session) -> int:
    """Seal every CA key still stored in clear (rows from before sealing); how many."""
    clear = session.scalars(select(SigningCA).where(~SigningCA.key_pem.startswith(_SEALED_PREFIX)))
    count = 0
    for row in clear:
        _seal_key(session, row, row.key_pem.encode())
        count += 1
    session.flush()
    return count


def rotate_ca(session: Session, actor: Principal) -> SigningCA:
    """A new CA that issues from now on (owner/admin); the previous ones stay trusted."""
    actor.require_admin()
    previous = active_cas(session, actor.org_id)
    org = session.get(Organization, actor.org_id)
    assert org is not None  # the principal's organisation exists while its token does
    row = _new_ca_row(session, org)
    audit.record(
        session,
        actor.org_id,
        actor,
        "signing_ca.rotate",
        row.id,
        previous=previous[0].id if previous else None,
    )
    return row


def _windows(cas: list[SigningCA]) -> list[tuple[SigningCA, datetime | None]]:
    """Oldest first, each CA with the end of its validity (None: the issuing one)."""
    from chainproof.signing.ca import LEAF_VALIDITY

    ordered = sorted(cas, key=lambda c: c.created_at)
    ends: list[datetime | None] = [c.created_at + LEAF_VALIDITY for c in ordered[1:]]
    return list(zip(ordered, [*ends, None], strict=True))


def ca_views(session: Session, actor: Principal) -> list[dict[str, Any]]:
    """The organisation's CAs for listing, newest first: the issuing one and rotated ones."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    views = []
    for row, end in _windows(active_cas(session, actor.org_id)):
        cert = x509.load_pem_x509_certificate(row.cert_pem.encode())
        fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
        views.append(
            {
                "id": row.id,
                "subject": cert.subject.rfc4514_string(),
                "sha256": fingerprint,
                "status": "issuing" if end is None else "rotated",
                "created_at": rfc3339(row.created_at),
                "trusted_until": rfc3339(end) if end else None,
                "not_after": rfc3339(cert.not_valid_after_utc),
                "certificate": row.cert_pem,
            }
        )
    return list(reversed(views))


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
    """A 10-minute certificate for the CSR, naming this run, with an SCT from the
    organisation's CT log; the chain, leaf first."""
    from chainproof.signing.ctlog import CTLog

    if not csr_pem or len(csr_pem) > MAX_CSR:
        raise InvalidInput("a PEM certificate signing request is required")
    run = runs.get_run_for_attest(session, actor, run_id)
    if run.status != "initialized":
        raise Conflict(f"run {run.id} already finished: it is {run.status}")
    ca = org_ca(session, actor.org_id)
    ct_key = trust_keys.current_key(session, actor.org_id, "ctlog")
    uri = identity_for(session, actor, run_id)
    extra = _ci_extensions(actor, run.ci_identity)
    chain = ca.issue(csr_pem.encode(), identity_uri=uri, ct_log=CTLog(ct_key.private_key), **extra)
    audit.record(session, actor.org_id, actor, "certificate.issue", run.id, identity=uri)
    return [_text(c) for c in chain]


def _ci_extensions(actor: Principal, run_identity: dict[str, Any] | None) -> dict[str, Any]:
    """The CI job's verified identity in Fulcio's extensions (issuer and claims), when the
    certificate goes to the job that started the run (its token carries the run's verified
    identity); nothing for anyone else, so no other caller can sign under the job's name."""
    from chainproof.signing import fulcio

    if not run_identity or actor.ci_identity != run_identity:
        return {}
    issuer = str(run_identity["issuer"])
    claims = run_identity.get("claims") or {}
    provider = str(run_identity.get("provider"))
    return {"issuer": issuer, "extensions": fulcio.extensions(provider, issuer, claims)}


def trust_root(
    session: Session, actor: Principal, *, now: datetime | None = None
) -> dict[str, Any]:
    """The organisation's Sigstore trusted root: every CA, transparency-log key, CT-log key
    and TSA chain, current and rotated out, each with its validity window.

    The service keys are created on first use, so the root a verifier downloads already
    names the keys that later bundles rely on. Built once per state of the organisation's
    trusted material (services/trust_cache.py).
    """
    import copy

    _ensure_service_keys(session, actor, now)
    cached = trust_cache.material(session, actor.org_id)
    if cached is None:
        return _build_root(session, actor)
    root: dict[str, Any] = cached.get("root", lambda: _build_root(session, actor))
    return copy.deepcopy(root)


def trusted_root(session: Session, actor: Principal, *, now: datetime | None = None) -> TrustedRoot:
    """:func:`trust_root`, parsed for a verifier (parsed once per state, as the root)."""
    from chainproof.signing.trust import TrustedRoot

    _ensure_service_keys(session, actor, now)
    cached = trust_cache.material(session, actor.org_id)
    if cached is None:
        return TrustedRoot.from_json(_build_root(session, actor))
    parsed: TrustedRoot = cached.get(
        "parsed_root", lambda: TrustedRoot.from_json(trust_root(session, actor, now=now))
    )
    return parsed


def existing_trusted_root(session: Session, actor: Principal) -> TrustedRoot:
    """:func:`trusted_root` from the trusted material that exists, creating no service key:
    for checks that must write nothing (services/bundle_check.py). A bundle cannot rely on
    a key not made yet; the cached root is per fingerprint, which a new key changes."""
    from chainproof.signing.trust import TrustedRoot

    cached = trust_cache.material(session, actor.org_id)
    if cached is None:
        return TrustedRoot.from_json(_build_root(session, actor))

    def parse() -> TrustedRoot:
        return TrustedRoot.from_json(cached.get("root", lambda: _build_root(session, actor)))

    parsed: TrustedRoot = cached.get("parsed_root", parse)
    return parsed


def _ensure_service_keys(session: Session, actor: Principal, now: datetime | None) -> None:
    for purpose in ("tlog", "ctlog"):
        trust_keys.current_key(session, actor.org_id, purpose, now=now)
    trust_keys.tsa(session, actor.org_id, actor.org_name, now=now)


def _build_root(session: Session, actor: Principal) -> dict[str, Any]:
    from chainproof.server.tlog import origin_for
    from chainproof.signing.trust import AuthorityChain, LogInstance, trusted_root_json

    cas = active_cas(session, actor.org_id)
    if not cas:
        raise ServiceError("this organisation has no signing CA")
    entries = [
        AuthorityChain([row.cert_pem.encode()], row.created_at, end) for row, end in _windows(cas)
    ]
    base = f"https://{origin_for(actor.org_name)}"
    logs: dict[str, list[LogInstance]] = {}
    for purpose, url in (("tlog", base), ("ctlog", f"{base}/ct")):
        logs[purpose] = [
            LogInstance(url, row.public_key_der, row.valid_from, row.valid_until)
            for row in trust_keys.all_keys(session, actor.org_id, purpose)
        ]
    tsas = [
        AuthorityChain(trust_keys.chain_pem(row), row.valid_from, row.valid_until)
        for row in trust_keys.all_keys(session, actor.org_id, "tsa")
    ]
    return trusted_root_json(
        entries,
        start=entries[0].start,
        timestamp_authorities=tsas,
        tsa_uri=f"{base}/tsa",
        tlogs=logs["tlog"],
        ctlogs=logs["ctlog"],
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
