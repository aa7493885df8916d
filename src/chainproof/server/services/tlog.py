"""Reading the organisation's transparency log: signed checkpoint, entries, consistency.

Organisation members (not robots) may read: entries name the certificate identities of the
organisation's runs. Proofs come from server/tlog.py; this module adds access control and
the JSON shapes of the API (hashes base64, sizes and indexes as integers).
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.orm import Session

from chainproof.server import tlog
from chainproof.server.services import trust_keys
from chainproof.server.services.principal import Principal


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def checkpoint(session: Session, actor: Principal, *, master_key: str) -> dict[str, Any]:
    """The log's latest signed checkpoint (C2SP signed note) and what it says."""
    actor.require_reader()
    log = tlog.log_of(session, actor.org_id, actor.org_name)
    key = trust_keys.current_key(session, actor.org_id, "tlog", master_key)
    return {
        "origin": log.origin,
        "log_id": _b64(key.key_id),
        "tree_size": log.tree_size,
        "root_hash": _b64(log.root_hash),
        "checkpoint": tlog.checkpoint(log, key, log.tree_size, log.root_hash),
    }


def entry(session: Session, actor: Principal, index: int, *, master_key: str) -> dict[str, Any]:
    """Entry ``index`` as a Sigstore ``TransparencyLogEntry``, proven against the current
    tree (inclusion proof and signed checkpoint); NotFound outside the log."""
    actor.require_reader()
    log = tlog.log_of(session, actor.org_id, actor.org_name)
    leaf = tlog.leaf(session, log, index)
    key = trust_keys.current_key(session, actor.org_id, "tlog", master_key)
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
