"""Push: verify a signed attestation before storing it, in one transaction.

See docs/architecture.md §6.

Checks, in order: the run is ``initialized`` (or this exact push was already accepted), the
bundle's signature and certificate chain to the organisation's CA, the certificate identity
names this run, the statement's workflow/run match this run, and every material marked for the
CAS is stored there for this organisation. Any failure raises VerificationError and changes
nothing.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.statement import PREDICATE_TYPE, MaterialDescriptor, Statement
from chainproof.errors import (
    ChainproofError,
    Conflict,
    Forbidden,
    InvalidInput,
    PolicyViolation,
    VerificationError,
)
from chainproof.server.db import Attestation, Material, Project, Workflow, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit, cas, enforcement, runs, signing, slsa, tlog
from chainproof.server.services.principal import Principal
from chainproof.server.services.times import rfc3339


@dataclass(frozen=True)
class Pushed:
    """A recorded push: the run (``succeeded``, or ``blocked`` by a policy gate), the stored
    bundle completed with its log entry, and the policy evaluations the control plane made."""

    run: WorkflowRun
    bundle: dict[str, Any]
    policies: tuple[enforcement.Checked, ...] = ()

    @property
    def blocked(self) -> bool:
        """A gated policy violation refused the push (the evidence is kept)."""
        return self.run.status == "blocked"

    def refusal(self) -> PolicyViolation:
        """The error a blocked push answers with, naming every gated violation."""
        gated = [c for c in self.policies if c.violated and c.gate]
        return PolicyViolation(
            f"run {self.run.id} was blocked by policy: {enforcement.describe(gated)}",
            hint="fix the evidence and run the job again; the run and its evidence are kept",
            run_id=self.run.id,
            violations=[c.to_dict() for c in gated],
        )


def push(
    session: Session,
    actor: Principal,
    run_id: str,
    *,
    bundle: dict[str, Any],
    master_key: str,
    materials: list[dict[str, Any]] | None = None,
    public_key: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    read_blob: enforcement.BlobReader | None = None,
    bypass_policy_check: bool = False,
) -> Pushed:
    """Verify, evaluate policies, log and store the attestation of a run.

    The control plane evaluates the run's policies itself (:mod:`.enforcement`; material
    content through ``read_blob``). A gated violation
    blocks the run: it is stored as ``blocked`` with its evidence, and the caller commits and
    answers with :meth:`Pushed.refusal`. ``bypass_policy_check`` lets the push through
    instead when the actor may bypass (owner/admin users, robots granted it), audited.
    A repeated push of the same bundle (or with the same idempotency key) returns what the
    first one stored, with the same log entry.
    """
    from chainproof.core.bundle import Bundle

    now = now or utcnow()
    run = runs.get_run_for_attest(session, actor, run_id)
    try:
        parsed = Bundle.from_json(bundle)
    except VerificationError:
        raise
    except ChainproofError as err:
        raise VerificationError(f"not a valid Sigstore bundle: {err.message}") from None
    submitted = _unlogged_digest(parsed.to_dict())
    # Lock the row (PostgreSQL) so the expiry job or a concurrent push cannot interleave.
    session.refresh(run, with_for_update=True)
    if run.status != "initialized":
        same_key = idempotency_key is not None and run.idempotency_key == idempotency_key
        if run.status in ("succeeded", "blocked"):
            stored = session.scalar(select(Attestation).where(Attestation.run_id == run.id))
            assert stored is not None  # a succeeded or blocked run has its attestation
            kept: dict[str, Any] = json.loads(stored.bundle)
            if same_key or _unlogged_digest(kept) == submitted:
                return Pushed(run, kept, tuple(enforcement.stored(session, run.id)))
        raise Conflict(
            f"run {run.id} is {run.status}, not initialized: it cannot take another push",
            hint="start a new run with `attestation init`",
        )
    wf = session.get(Workflow, run.workflow_id)
    assert wf is not None
    project = session.get(Project, wf.project_id)
    assert project is not None
    identity = signing.identity_for(session, actor, run.id)
    verified, statement = _verify(session, actor, parsed, identity, public_key, master_key, now)
    materials_signed = _check_statement(statement, run, wf)
    backends = _check_cas(session, actor, materials_signed)
    held_inline = cas.check_inline(session, actor.org_id, materials_signed)
    # Policies before the log: the log's lock is held only for the append itself.
    verdict = enforcement.evaluate(
        session, run, statement, read_blob=read_blob, cas_backends=backends
    )
    blocked = bool(verdict.gated)
    bypassed = False
    if blocked and bypass_policy_check:
        if not actor.may_bypass_policies:
            raise Forbidden(
                f"this token may not bypass policy checks: {enforcement.describe(verdict.gated)}",
                hint="an owner or admin grants it with `api-token create --allow-policy-bypass`",
            )
        blocked, bypassed = False, True

    completed, entry = tlog.notarise(
        session,
        actor.org_id,
        actor.org_name,
        parsed,
        master_key=master_key,
        now=now,
        run_id=run.id,
        public_key_pem=public_key,
    )
    digest = str(completed.digest())
    session.add(
        Attestation(
            run_id=run.id,
            bundle=completed.to_json(),
            digest=digest,
            statement=statement.to_dict(),
            created_at=now,
        )
    )
    extras = {(m.get("name"), m.get("digest")): m for m in materials or [] if isinstance(m, dict)}
    for item in materials_signed:
        row = _material_row(run.id, item, extras, backends)
        cas.mark_inline(row, held_inline)
        session.add(row)
    run.status = "blocked" if blocked else "succeeded"
    if blocked:
        run.reason = f"blocked by policy: {verdict.describe_gated()}"[:2000]
    run.finished_at = now
    run.attestation_digest = digest
    run.idempotency_key = idempotency_key
    run.verification = {
        "verified": True,
        "identity": verified,
        "checked_at": rfc3339(now),
        "transparency_log": {
            "log_index": int(entry["logIndex"]),
            "log_id": base64.b64decode(entry["logId"]["keyId"]).hex(),
            "integrated_time": int(entry["integratedTime"]),
        },
        "policy": verdict.summary(blocked=blocked, bypassed=bypassed),
    }
    enforcement.record(session, run, verdict)
    session.flush()
    audit.record(session, actor.org_id, actor, "run.push", run.id, digest=digest)
    if blocked:
        audit.record(
            session, actor.org_id, actor, "run.blocked", run.id, violations=len(verdict.gated)
        )
    if bypassed:
        audit.record(
            session,
            actor.org_id,
            actor,
            "run.policy_bypass",
            run.id,
            violations=[f"{c.evaluation.name}:{c.evaluation.material_name}" for c in verdict.gated],
        )
    slsa.issue_vsa(session, run, master_key=master_key, now=now, policies_passed=not verdict.gated)
    return Pushed(run, completed.to_dict(), verdict.checked)


def _unlogged_digest(bundle: dict[str, Any]) -> str:
    """Digest of a bundle without what the server adds (log entries, timestamps): equal for
    the bundle a client sent and the completed one stored from it."""
    import hashlib

    material = dict(bundle.get("verificationMaterial") or {})
    material.pop("tlogEntries", None)
    material.pop("timestampVerificationData", None)
    text = json.dumps({**bundle, "verificationMaterial": material}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _verify(
    session: Session,
    actor: Principal,
    bundle: Any,
    identity: str,
    public_key: str | None,
    master_key: str,
    now: datetime,
) -> tuple[str, Statement]:
    """The signer's identity and the signed statement (VerificationError if either fails)."""
    from chainproof.signing.trust import TrustedRoot
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
    # The organisation's root: its CAs and CT logs (the leaf's SCT is checked). The log
    # entry is the server's to add, so none is required yet.
    # Keys made on first use start at the push's time: its timestamps must fall inside.
    root = TrustedRoot.from_json(signing.trust_root(session, actor, now=now))
    verifier = Verifier(trusted_root=root, require_tlog=False)
    result = verifier.verify(bundle, ExactIdentity(identity))
    return result.identity or identity, result.statement


def _check_statement(
    statement: Statement, run: WorkflowRun, wf: Workflow
) -> tuple[MaterialDescriptor, ...]:
    """Check the statement is chainproof's, for this run; its materials, parsed."""
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


def _check_cas(
    session: Session, actor: Principal, materials: tuple[MaterialDescriptor, ...]
) -> dict[str, str | None]:
    """Digests marked for the CAS that this org uploaded → the backend holding each (None:
    the embedded store); raise if one is missing.

    Only ``cas_blobs`` counts (filled by the CAS app's upload hook): a blob another
    organisation uploaded proves nothing about this one holding the bytes.
    """
    stored: dict[str, str | None] = {}
    for material in materials:
        if not material.in_cas:
            continue
        where = cas.stored_in(session, actor.org_id, material.digest)
        if where is None:
            raise VerificationError(
                f"material {material.name} ({material.digest}) is not in the CAS",
                hint="upload it with `attestation add` before pushing",
            )
        stored[str(material.digest)] = where[1]
    return stored


def _material_row(
    run_id: str,
    material: MaterialDescriptor,
    extras: dict[tuple[Any, Any], dict[str, Any]],
    stored: dict[str, str | None],
) -> Material:
    """A material row from the signed descriptor; unsigned client extras only fill gaps."""
    digest = str(material.digest)
    extra = extras.get((material.name, digest), {})
    value = material.value if material.content is not None else extra.get("value")
    size = material.size if material.size is not None else _count(extra.get("size"))
    return Material(
        run_id=run_id,
        name=material.name,
        kind=material.kind,
        digest=digest,
        size=size,
        filename=material.filename or extra.get("filename"),
        value=value if isinstance(value, str) else None,
        annotations=dict(material.annotations),
        summary=dict(material.summary or {}),
        output=material.output,
        uploaded=digest in stored,
        cas_backend_id=stored.get(digest),
    )


def _count(value: Any) -> int | None:
    return int(str(value)) if str(value).isdigit() else None
