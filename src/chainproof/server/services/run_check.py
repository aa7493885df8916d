"""Verify a stored run's bundle again, now, as ``chainproof verify`` does on a laptop.

The same verifier (``signing.verifier``) against the organisation's trusted root: a keyless
bundle must chain to the organisation's CA and name this run (its SAN URI); a key-signed one
must be signed by a key the organisation registered. The dashboard shows the result beside
what the push recorded (``run.verification``); nothing here is a check of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from chainproof.core.bundle import Bundle
from chainproof.errors import VerificationError
from chainproof.server.db import Attestation, WorkflowRun
from chainproof.server.services import signing
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339


def recheck(
    session: Session, actor: Principal, run: WorkflowRun, attestation: Attestation
) -> dict[str, Any]:
    """``{"ok", "identity", "issuer", "signed_at", "checks", "error"}``: the checks passed
    in order (signature, certificate chain, identity, timestamp, transparency log, ...), or
    the failed check's message in ``error``."""
    from chainproof.signing.verifier import AnyOf, ExactIdentity, KeyIdentity, Verifier

    bundle = Bundle.from_json(attestation.bundle)
    root = signing.trusted_root(session, actor)
    policy: Any
    if bundle.leaf_certificate_der is None:
        keys = [k.public_key_pem.encode() for k in signing.list_keys(session, actor)]
        verifier = Verifier(trusted_root=root, public_keys=keys)
        policy = AnyOf(tuple(KeyIdentity.of_pem(k) for k in keys))
    else:
        verifier = Verifier(trusted_root=root)
        policy = ExactIdentity(signing.identity_for(session, actor, run.id))
    try:
        verified = verifier.verify(bundle, policy)
    except VerificationError as err:
        return {
            "ok": False,
            "identity": None,
            "issuer": None,
            "signed_at": [],
            "checks": [],
            "error": err.message,
        }
    return {
        "ok": True,
        "identity": verified.identity,
        "issuer": verified.issuer,
        "signed_at": [rfc3339(at) for at in verified.signed_at],
        "checks": list(verified.checks),
        "error": None,
    }
