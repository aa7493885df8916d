"""What a push must prove before anything is logged or stored (docs/architecture.md §6).

The bundle's signature and certificate chain to the organisation's CA, naming this run (or a
key the organisation registered); the statement is chainproof's, for this run and workflow;
every material marked for the CAS is a blob the organisation holds and the run uploaded (or
the pusher may already read). Each failure raises VerificationError and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from chainproof.core.bundle import Bundle
from chainproof.core.statement import PREDICATE_TYPE, MaterialDescriptor, Statement
from chainproof.errors import ChainproofError, InvalidInput, VerificationError
from chainproof.server.db import CasBlob, CasRunUpload
from chainproof.server.services import cas, signing
from chainproof.server.services.push_context import PushContext
from chainproof.server.support.principal import Principal

__all__ = ["Held", "check_cas", "check_statement", "parse", "verify"]


@dataclass(frozen=True)
class Held:
    """Where the control plane holds the signed materials' bytes."""

    backends: dict[str, str | None]  # CAS digest → its backend (None: the embedded store)
    inline: set[str]  # digests whose bytes the statement itself holds


def parse(bundle: dict[str, Any]) -> Bundle:
    """The bundle as sent; VerificationError naming what is malformed."""
    try:
        return Bundle.from_json(bundle)
    except VerificationError:
        raise
    except ChainproofError as err:
        raise VerificationError(f"not a valid Sigstore bundle: {err.message}") from None


def verify(
    session: Session,
    actor: Principal,
    context: PushContext,
    bundle: Bundle,
    public_key: str | None,
    now: datetime,
) -> tuple[str, Statement]:
    """The signer's identity and the signed statement (VerificationError if either fails):
    a certificate must chain to the organisation's CA and name this run; a key must be one
    the organisation registered."""
    from chainproof.signing.ca import identity_uri
    from chainproof.signing.verifier import ExactIdentity, KeyIdentity, Verifier

    if bundle.leaf_certificate_der is None:
        if not public_key or signing.registered_key(session, actor.org_id, public_key) is None:
            raise VerificationError(
                "key-signed bundles need the public key registered",
                hint="an admin registers it with POST /api/v1/signing/keys",
            )
        verifier = Verifier(ca_certs=[], public_keys=[public_key.encode()])
        # A key-signed bundle's identity is its key: the registered one, named by its hint.
        result = verifier.verify(bundle, KeyIdentity.of_pem(public_key.encode()))
        return result.identity, result.statement
    run = context.run
    identity = identity_uri(actor.org_name, context.project.name, context.workflow.name, run.id)
    # The organisation's root: its CAs and CT logs (the leaf's SCT is checked). The log
    # entry is the server's to add, so none is required yet.
    # Keys made on first use start at the push's time: its timestamps must fall inside.
    root = signing.trusted_root(session, actor, now=now)
    result = Verifier(trusted_root=root, require_tlog=False).verify(bundle, ExactIdentity(identity))
    return result.identity or identity, result.statement


def check_statement(context: PushContext, statement: Statement) -> tuple[MaterialDescriptor, ...]:
    """Check the statement is chainproof's, for this run; its materials, parsed."""
    run, wf = context.run, context.workflow
    if statement.predicate_type != PREDICATE_TYPE:
        raise VerificationError(f"the statement's predicateType is not {PREDICATE_TYPE}")
    workflow = statement.predicate.get("workflow") or {}
    if workflow.get("runID") != run.id:
        raise VerificationError(
            f"the statement is for run {workflow.get('runID')!r}, not {run.id}",
        )
    if workflow.get("workflowID") not in (None, wf.id):
        raise VerificationError(
            f"the statement is for workflow {workflow.get('workflowID')!r}, not {wf.id}"
        )
    if workflow.get("name") not in (None, wf.name):
        raise VerificationError(f"the statement names workflow {workflow.get('name')!r}")
    try:
        return statement.materials
    except InvalidInput as err:
        raise VerificationError(err.message, hint=err.hint) from None


def check_cas(
    session: Session,
    actor: Principal,
    run_id: str,
    materials: tuple[MaterialDescriptor, ...],
) -> Held:
    """Where each material's bytes are: every one marked for the CAS must be a blob this
    organisation uploaded, every one held inline must check (:func:`.cas.check_inline`).

    Only ``cas_blobs`` counts (filled by the CAS app's upload hook): a blob another
    organisation uploaded proves nothing about this one holding the bytes. And the run must
    have uploaded it, or the pusher already read it: a push grants its readers the download,
    so naming a digest must not be enough (:mod:`.cas_uploads`). One statement for all the
    materials, whichever their number.
    """
    wanted = {str(m.digest): m for m in materials if m.in_cas}
    found = _holdings(session, actor.org_id, run_id, list(wanted)) if wanted else {}
    stored: dict[str, str | None] = {}
    for digest, material in wanted.items():
        if digest not in found:
            raise VerificationError(
                f"material {material.name} ({digest}) is not in the CAS",
                hint="upload it with `attestation add` before pushing",
            )
        backend, by_run = found[digest]
        if not by_run and not cas.readable(session, actor, material.digest):
            raise VerificationError(
                f"material {material.name} ({digest}) was not uploaded by run "
                f"{run_id}, and this token may not read it",
                hint="upload its file for this run with `attestation add` before pushing",
            )
        stored[digest] = backend
    return Held(stored, cas.check_inline(session, actor.org_id, materials))


def _holdings(
    session: Session, org_id: str, run_id: str, digests: list[str]
) -> dict[str, tuple[str | None, bool]]:
    """Of ``digests``, those the organisation holds: their backend, and whether run
    ``run_id`` uploaded them."""
    uploaded = and_(CasRunUpload.run_id == run_id, CasRunUpload.digest == CasBlob.digest)
    rows = session.execute(
        select(CasBlob.digest, CasBlob.backend_id, CasRunUpload.id.is_not(None))
        .outerjoin(CasRunUpload, uploaded)
        .where(CasBlob.org_id == org_id, CasBlob.digest.in_(digests))
    )
    return {digest: (backend, bool(by_run)) for digest, backend, by_run in rows}
