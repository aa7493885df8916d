"""Push: verify a signed attestation, log it, then store it.

See docs/architecture.md §6. The log entry is committed by group commit
(:mod:`.tlog_group`) once every check has passed, before the push's own rows; the caller
commits the push, answers it, then issues its VSA and reconciles its workflow's drift
findings (:func:`.after_push.follow_up`).

Checks, in order: the run is ``initialized`` (or this exact push was already accepted), the
bundle's signature and certificate chain to the organisation's CA, the certificate identity
names this run, the statement's workflow/run match this run, and every material marked for the
CAS is stored there for this organisation. Any failure raises VerificationError and changes
nothing.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.bundle import Bundle
from chainproof.core.statement import MaterialDescriptor, Statement
from chainproof.errors import (
    Blocked,
    ChainproofError,
    Conflict,
    Forbidden,
    PolicyViolation,
)
from chainproof.server.db import Attestation, Material, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import (
    audit,
    blocks,
    cas,
    enforcement,
    events,
    push_checks,
    push_context,
    requirements,
    tlog,
    tlog_group,
    versions,
    workflow_stats,
)
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339
from chainproof.server.telemetry import metrics


@dataclass(frozen=True)
class Pushed:
    """A recorded push: the run (``succeeded``, or ``blocked`` by a policy gate), the stored
    bundle completed with its log entry, and the policy evaluations the control plane made."""

    run: WorkflowRun
    bundle: dict[str, Any]
    policies: tuple[enforcement.Checked, ...] = ()
    #: The workflow (or its project) was blocked while the run was in progress: the run is
    #: marked failed and the push refused with this error.
    refused: Blocked | None = None
    #: The material rows the push wrote (None for a repeated push: read them).
    materials: tuple[Material, ...] | None = field(default=None, compare=False, repr=False)
    #: The locked run's workflow, project, organisation and contract, held for the
    #: answer's view (None for a push refused before the run was read).
    context: push_context.PushContext | None = field(default=None, compare=False, repr=False)

    @property
    def blocked(self) -> bool:
        """The push was refused and the run's new state is to be kept: a gated policy
        violation blocked it (the evidence is kept), or a block of its workflow failed it."""
        return self.run.status == "blocked" or self.refused is not None

    def refusal(self) -> ChainproofError:
        """The error a blocked push answers with: the workflow's block, or every gated
        policy violation."""
        if self.refused is not None:
            return self.refused
        gated = [c for c in self.policies if c.violated and c.gate]
        return PolicyViolation(
            f"run {self.run.id} was blocked by policy: {enforcement.describe(gated)}",
            hint="fix the evidence and run the job again; the run and its evidence are kept",
            run_id=self.run.id,
            violations=[c.to_dict() for c in gated],
        )


@metrics.counted_push  # chainproof_pushes_total by outcome (docs/operations.md)
def push(
    session: Session,
    actor: Principal,
    run_id: str,
    *,
    bundle: dict[str, Any],
    materials: list[dict[str, Any]] | None = None,
    public_key: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    read_blob: enforcement.BlobReader | None = None,
    bypass_policy_check: bool = False,
    policy_limits: enforcement.Limits | None = None,
    release: bool = False,
) -> Pushed:
    """Verify, evaluate policies, log and store the attestation of a run.

    The control plane evaluates the run's policies itself (:mod:`.enforcement`; material
    content through ``read_blob``). A gated violation
    blocks the run: it is stored as ``blocked`` with its evidence, and the caller commits and
    answers with :meth:`Pushed.refusal`. ``bypass_policy_check`` lets the push through
    instead when the actor may bypass (owner/admin users, robots granted it), audited.
    ``policy_limits`` bound the evaluations (the server's; default: the built-in defaults).
    A repeated push of the same bundle (or with the same idempotency key) returns what the
    first one stored, with the same log entry. ``materials`` are the client's unsigned
    extras: they only fill gaps in what the statement signs. ``release`` releases the run's
    project version once the push succeeded (:mod:`.versions`). Once the caller commits and
    answers, it issues the run's VSA and reconciles its findings (:func:`.after_push.follow_up`).
    """
    now = now or utcnow()
    context = push_context.lock_run(session, actor, run_id)
    pushed = _push(
        session,
        actor,
        context,
        bundle=bundle,
        materials=materials,
        public_key=public_key,
        idempotency_key=idempotency_key,
        now=now,
        read_blob=read_blob,
        bypass_policy_check=bypass_policy_check,
        policy_limits=policy_limits,
        release=release,
    )
    if context.integrations:  # outbox (docs/integrations.md)
        events.run_finished(session, pushed.run, pushed.policies)
    return replace(pushed, context=context)


def _push(
    session: Session,
    actor: Principal,
    context: push_context.PushContext,
    *,
    bundle: dict[str, Any],
    materials: list[dict[str, Any]] | None,
    public_key: str | None,
    idempotency_key: str | None,
    now: datetime,
    read_blob: enforcement.BlobReader | None,
    bypass_policy_check: bool,
    policy_limits: enforcement.Limits | None,
    release: bool,
) -> Pushed:
    """:func:`push` once the run is locked and its context held."""
    run = context.run
    if release:
        versions.check_releasable(run)
    parsed = push_checks.parse(bundle)
    earlier = _repeated(session, run, parsed, idempotency_key)
    if earlier is not None:
        return earlier
    refused = blocks.fail_pending(session, actor, run, now)
    if refused is not None:
        return Pushed(run, {}, refused=refused)
    requirements.check_run_accepted(session, run, now)
    versions.check_run_accepted(session, run)
    # The log's batches run beside this transaction: the keys they need must not be created
    # in it (see tlog_group).
    tlog_group.prepare(session, actor.org_id, actor.org_name, now=now)
    identity, statement = push_checks.verify(session, actor, context, parsed, public_key, now)
    signed = push_checks.check_statement(context, statement)
    held = push_checks.check_cas(session, actor, run.id, signed)
    # Everything that can refuse the push comes before the log: its entry is committed now.
    decision = _evaluate(
        session, actor, run, statement, held, read_blob, bypass_policy_check, policy_limits
    )
    completed, entry = _notarise(session, actor, run, parsed, public_key, now)
    digest, rows = _store(session, run, completed, statement, signed, held, materials, now)
    _finish(session, actor, run, digest, identity, entry, decision, idempotency_key, now)
    if release and run.status == "succeeded":
        versions.release_of_run(session, actor, run, now)
    return Pushed(run, completed.to_dict(), decision.verdict.checked, materials=rows)


@dataclass(frozen=True)
class _Decision:
    """The policies' verdict, and what it does to the run."""

    verdict: enforcement.Verdict
    blocked: bool
    bypassed: bool


def _repeated(
    session: Session, run: WorkflowRun, bundle: Bundle, idempotency_key: str | None
) -> Pushed | None:
    """None when the (locked) run takes this push, what an earlier push stored when this
    one repeats it (same bundle or idempotency key), else Conflict."""
    if run.status == "initialized":
        return None
    same_key = idempotency_key is not None and run.idempotency_key == idempotency_key
    if run.status in ("succeeded", "blocked"):
        stored = session.scalar(select(Attestation).where(Attestation.run_id == run.id))
        assert stored is not None  # a succeeded or blocked run has its attestation
        kept: dict[str, Any] = json.loads(stored.bundle)
        if same_key or _unlogged_digest(kept) == _unlogged_digest(bundle.to_dict()):
            return Pushed(run, kept, tuple(enforcement.stored(session, run.id)))
    why = f" ({run.reason})" if run.reason else ""
    raise Conflict(
        f"run {run.id} is {run.status}{why}, not initialized: it cannot take another push",
        hint="start a new run with `attestation init`",
    )


def _unlogged_digest(bundle: dict[str, Any]) -> str:
    """Digest of a bundle without what the server adds (log entries, timestamps): equal for
    the bundle a client sent and the completed one stored from it."""
    import hashlib

    material = dict(bundle.get("verificationMaterial") or {})
    material.pop("tlogEntries", None)
    material.pop("timestampVerificationData", None)
    text = json.dumps({**bundle, "verificationMaterial": material}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _evaluate(
    session: Session,
    actor: Principal,
    run: WorkflowRun,
    statement: Statement,
    held: push_checks.Held,
    read_blob: enforcement.BlobReader | None,
    bypass_policy_check: bool,
    limits: enforcement.Limits | None,
) -> _Decision:
    """The control plane's policy verdict; a gated violation blocks the run, unless the
    push asks to bypass and the actor may (Forbidden if it may not)."""
    verdict = enforcement.evaluate(
        session, run, statement, read_blob=read_blob, cas_backends=held.backends, limits=limits
    )
    if not verdict.gated or not bypass_policy_check:
        return _Decision(verdict, blocked=bool(verdict.gated), bypassed=False)
    if not actor.may_bypass_policies:
        raise Forbidden(
            f"this token may not bypass policy checks: {enforcement.describe(verdict.gated)}",
            hint="an owner or admin grants it with `api-token create --allow-policy-bypass`",
        )
    return _Decision(verdict, blocked=False, bypassed=True)


def _notarise(
    session: Session,
    actor: Principal,
    run: WorkflowRun,
    bundle: Bundle,
    public_key: str | None,
    now: datetime,
) -> tuple[Bundle, dict[str, Any]]:
    """The bundle completed with the organisation's log entry (and that entry)."""
    return tlog.notarise(
        session,
        actor.org_id,
        actor.org_name,
        bundle,
        now=now,
        run_id=run.id,
        public_key_pem=public_key,
    )


def _store(
    session: Session,
    run: WorkflowRun,
    completed: Bundle,
    statement: Statement,
    signed: tuple[MaterialDescriptor, ...],
    held: push_checks.Held,
    extras: list[dict[str, Any]] | None,
    now: datetime,
) -> tuple[str, tuple[Material, ...]]:
    """Store the attestation and a row per material; the stored bundle's digest and the
    material rows."""
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
    by_key = {(m.get("name"), m.get("digest")): m for m in extras or [] if isinstance(m, dict)}
    rows = tuple(_material_row(run.id, m, by_key, held.backends) for m in signed)
    for row in rows:
        cas.mark_inline(row, held.inline)
    session.add_all(rows)
    return digest, rows


def _finish(
    session: Session,
    actor: Principal,
    run: WorkflowRun,
    digest: str,
    identity: str,
    entry: dict[str, Any],
    decision: _Decision,
    idempotency_key: str | None,
    now: datetime,
) -> None:
    """Close the run (``succeeded`` or ``blocked``) with what was checked, record the
    policy evaluations, and audit the push, the block or the bypass."""
    verdict = decision.verdict
    run.status = "blocked" if decision.blocked else "succeeded"
    if decision.blocked:
        run.reason = f"blocked by policy: {verdict.describe_gated()}"[:2000]
    run.finished_at = now
    run.attestation_digest = digest
    run.idempotency_key = idempotency_key
    run.verification = {
        "verified": True,
        "identity": identity,
        "checked_at": rfc3339(now),
        "transparency_log": {
            "log_index": int(entry["logIndex"]),
            "log_id": base64.b64decode(entry["logId"]["keyId"]).hex(),
            "integrated_time": int(entry["integratedTime"]),
        },
        "policy": verdict.summary(blocked=decision.blocked, bypassed=decision.bypassed),
    }
    run.policy_result = "violated" if verdict.violated else "passed" if verdict.checked else "none"
    enforcement.record(session, run, verdict)
    session.flush()
    workflow_stats.finished(session, run)
    audit.record(session, actor.org_id, actor, "run.push", run.id, digest=digest)
    if decision.blocked:
        audit.record(
            session, actor.org_id, actor, "run.blocked", run.id, violations=len(verdict.gated)
        )
    if decision.bypassed:
        audit.record(
            session,
            actor.org_id,
            actor,
            "run.policy_bypass",
            run.id,
            violations=[f"{c.evaluation.name}:{c.evaluation.material_name}" for c in verdict.gated],
        )


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
