"""The organisation's transparency log as a service: notarising bundles, and reading the log.

:func:`notarise` is how every bundle the control plane accepts or signs (a run's attestation,
its VSA, its provenance) gets its log entry and RFC 3161 timestamp, so that all of them verify
against the same trusted root, which lists the log and the TSA.

Reading (signed checkpoint, entries, consistency) is for organisation members (not robots):
entries name the certificate identities of the organisation's runs. Proofs come from
server/tlog.py; this module adds access control and the JSON shapes of the API (hashes base64,
sizes and indexes as integers).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from chainproof.server import tlog, tlog_entry
from chainproof.server.services import tlog_group, trust_keys
from chainproof.server.support.principal import Principal

if TYPE_CHECKING:
    from chainproof.core.bundle import Bundle


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def checkpoint(session: Session, actor: Principal) -> dict[str, Any]:
    """The log's latest signed checkpoint (C2SP signed note) and what it says."""
    actor.require_reader()
    log = tlog.log_of(session, actor.org_id, actor.org_name)
    key = trust_keys.current_key(session, actor.org_id, "tlog")
    return {
        "origin": log.origin,
        "log_id": _b64(key.key_id),
        "tree_size": log.tree_size,
        "root_hash": _b64(log.root_hash),
        "checkpoint": tlog.checkpoint(log, key, log.tree_size, log.root_hash),
    }


def entry(session: Session, actor: Principal, index: int) -> dict[str, Any]:
    """Entry ``index`` as a Sigstore ``TransparencyLogEntry``, proven against the current
    tree (inclusion proof and signed checkpoint); NotFound outside the log."""
    actor.require_reader()
    log = tlog.log_of(session, actor.org_id, actor.org_name)
    leaf = tlog.leaf(session, log, index)
    key = trust_keys.current_key(session, actor.org_id, "tlog")
    return tlog.entry_json(
        session,
        log,
        key,
        index=leaf.idx,
        body=leaf.body,
        integrated_time=leaf.integrated_time,
        tree_size=log.tree_size,
        root_hash=log.root_hash,
    )


def consistency(session: Session, actor: Principal, first: int, second: int) -> dict[str, Any]:
    """The RFC 6962 consistency proof between two sizes of the log, with both roots."""
    actor.require_reader()
    log = tlog.log_of(session, actor.org_id, actor.org_name)
    hashes = tlog.consistency_proof(session, log, first, second)
    return {
        "first": first,
        "second": second,
        "first_root_hash": _b64(tlog.root_at(session, log, first)),
        "second_root_hash": _b64(tlog.root_at(session, log, second)),
        "hashes": [_b64(h) for h in hashes],
    }


def notarise(
    session: Session,
    org_id: str,
    org_name: str,
    bundle: Bundle,
    *,
    now: datetime,
    run_id: str | None = None,
    public_key_pem: str | None = None,
) -> tuple[Bundle, dict[str, Any]]:
    """Append a verified bundle to the organisation's log and timestamp its signature.

    Returns the bundle completed with its entry (inclusion proof, signed checkpoint, SET) and
    an RFC 3161 timestamp from the organisation's TSA, replacing any the client sent, and the
    entry itself. The verifier recorded in the entry is the leaf certificate, or, for a
    key-signed bundle, ``public_key_pem``. The entry is committed by group commit
    (:mod:`.tlog_group`) before this returns, whatever becomes of the caller's transaction:
    call it once everything that can refuse the bundle has passed.
    """
    body = _body(bundle, public_key_pem)
    entry = tlog_group.log_entry(session, org_id, org_name, body, now=now, run_id=run_id)
    return _completed(session, org_id, org_name, bundle, entry, now), entry


def notarise_many(
    session: Session,
    org_id: str,
    org_name: str,
    bundles: Sequence[tuple[Bundle, str | None]],
    *,
    now: datetime,
) -> list[Bundle]:
    """:func:`notarise` each certificate-signed ``(bundle, run_id)``, logging them all in one
    group-commit batch: each gets its own entry and timestamp, as :func:`notarise` gives it."""
    bodies = [(_body(bundle, None), run_id) for bundle, run_id in bundles]
    entries = tlog_group.log_entries(session, org_id, org_name, bodies, now=now)
    return [
        _completed(session, org_id, org_name, bundle, entry, now)
        for (bundle, _), entry in zip(bundles, entries, strict=True)
    ]


def _body(bundle: Bundle, public_key_pem: str | None) -> bytes:
    """The log entry's body: the envelope and its verifier (leaf certificate or key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if bundle.leaf_certificate_der is not None:
        cert = x509.load_der_x509_certificate(bundle.leaf_certificate_der)
        verifier_pem = cert.public_bytes(serialization.Encoding.PEM)
    else:
        if public_key_pem is None:
            raise ValueError("a key-signed bundle is logged with its public key")
        verifier_pem = serialization.load_pem_public_key(public_key_pem.encode()).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return tlog_entry.dsse_body(bundle.envelope, verifier_pem)


def _completed(
    session: Session,
    org_id: str,
    org_name: str,
    bundle: Bundle,
    entry: dict[str, Any],
    now: datetime,
) -> Bundle:
    """``bundle`` with its log entry and a timestamp of its signature from the org's TSA."""
    from chainproof.core.bundle import Bundle

    authority = trust_keys.tsa(session, org_id, org_name, now=now)
    stamp = authority.timestamp(bundle.signature, now=now)
    data = bundle.to_dict()
    data["verificationMaterial"]["tlogEntries"] = [entry]
    data["verificationMaterial"]["timestampVerificationData"] = {
        "rfc3161Timestamps": [{"signedTimestamp": _b64(stamp)}]
    }
    return Bundle.from_json(data)
