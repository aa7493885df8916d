"""Import Chainloop's attestations into an organisation (``chainproof import chainloop``).

One bundle per call: verified against the Chainloop CA certificates the caller names (as
Chainloop's verifier checks them, :mod:`chainproof.signing.chainloop`), its predicate read
(:mod:`chainproof.core.chainloop_predicate`), its project, version and workflow created when
missing (the organisation's implicit-creation rule does not apply: importing is an admin's
act), and a finished run recorded with the bundle, its materials and Chainloop's policy
verdict. The run is never re-signed or logged in the organisation's transparency log: it
stays Chainloop's attestation, and its verification record says which CA vouched for it.

Idempotent: a bundle already imported (same digest, same organisation) answers its run.
Evidence bytes are uploaded by the client beforehand (run-less CAS uploads); a material is
marked uploaded when the organisation's CAS holds its digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.bundle import Bundle
from chainproof.core.chainloop_predicate import (
    ATTESTATION_SCOPE,
    ChainloopPredicate,
    is_chainloop,
    read_predicate,
)
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput, VerificationError
from chainproof.server.db import (
    Attestation,
    ContractRow,
    Material,
    Organization,
    PolicyEvaluationRow,
    WorkflowRun,
)
from chainproof.server.db.base import utcnow
from chainproof.server.services import (
    audit,
    cas,
    contracts,
    projects,
    runs,
    versions,
    workflow_stats,
    workflows,
)
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339
from chainproof.signing.identity import UnsafeNoIdentityCheck
from chainproof.signing.verifier import Verifier

__all__ = ["MAX_CAS", "import_chainloop"]

MAX_CAS = 10
"""CA certificates one import call may name."""
SOURCE = "chainloop"


def import_chainloop(
    session: Session,
    actor: Principal,
    bundle_json: dict[str, Any],
    ca_pems: Sequence[str],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Verify and record one Chainloop bundle; ``{"run", "created", "materials"}``.

    Owner or admin only. Raises VerificationError (nothing recorded) when the bundle does not
    verify against ``ca_pems`` or holds no Chainloop predicate.
    """
    actor.require_admin()
    now = now or utcnow()
    if not ca_pems or len(ca_pems) > MAX_CAS:
        raise InvalidInput(f"give 1 to {MAX_CAS} Chainloop CA certificates (PEM)")
    bundle, statement, mapped, identity = _verify(bundle_json, ca_pems, now)
    digest = str(bundle.digest())
    # One import at a time per organisation: the digest check below and the insert must
    # not interleave with another import of the same bundle (PostgreSQL row lock; SQLite
    # serialises writers already).
    session.execute(
        select(Organization.id).where(Organization.id == actor.org_id).with_for_update()
    )
    existing = session.scalar(
        select(WorkflowRun)
        .join(Attestation, Attestation.run_id == WorkflowRun.id)
        .where(WorkflowRun.org_id == actor.org_id, Attestation.digest == digest)
    )
    if existing is not None:
        return _answer(session, existing, created=False)
    run = _record_run(session, actor, mapped, identity, ca_pems, digest, now)
    session.add(
        Attestation(
            run_id=run.id,
            bundle=bundle.to_json(),
            digest=digest,
            statement=statement,
            created_at=now,
        )
    )
    for material in mapped.materials:
        address = material.address
        if address is None:
            continue  # neither a digest nor bytes: nothing to file it under
        held = cas.stored_in(session, actor.org_id, address)
        session.add(
            Material(
                run_id=run.id,
                name=material.name,
                kind=material.kind,
                digest=str(address),
                size=held[0] if held else None,
                filename=material.filename,
                # A string's value, as for pushed runs; a document kept inline stays in the
                # stored statement, not in this column.
                value=material.value if material.kind == "STRING" else None,
                annotations=material.annotations,
                summary={},
                output=material.output,
                uploaded=held is not None,
                cas_backend_id=held[1] if held else None,
            )
        )
    _record_evaluations(session, run, statement["predicate"], mapped.policy_strategy)
    session.flush()
    workflow_stats.finished(session, run)
    audit.record(session, actor.org_id, actor, "run.import", run.id, digest=digest, source=SOURCE)
    return _answer(session, run, created=True)


def _verify(
    bundle_json: dict[str, Any], ca_pems: Sequence[str], now: datetime
) -> tuple[Bundle, dict[str, Any], ChainloopPredicate, str]:
    try:
        bundle = Bundle.from_json(bundle_json)
    except InvalidInput as err:
        raise VerificationError(f"bundle check failed: {err.message}", hint=err.hint) from None
    verifier = Verifier(ca_certs=[pem.encode() for pem in ca_pems], chainloop=True)
    verified = verifier.verify(bundle, UnsafeNoIdentityCheck(), now=now)
    statement = verified.statement
    if not is_chainloop(statement.predicate_type):
        raise VerificationError(
            f"payload check failed: the predicate is {statement.predicate_type!r}, not "
            "Chainloop's (chainloop.dev/attestation/v0.2)",
            hint="push chainproof attestations with `attestation push`",
        )
    try:
        mapped = read_predicate(statement.predicate, statement.subjects)
    except InvalidInput as err:
        raise VerificationError(f"payload check failed: {err.message}") from None
    for needed in ("project", "name"):
        if not mapped.workflow.get(needed):
            raise VerificationError(f"payload check failed: the predicate names no {needed}")
    return bundle, statement.to_dict(), mapped, verified.identity


def _record_run(
    session: Session,
    actor: Principal,
    mapped: ChainloopPredicate,
    identity: str,
    ca_pems: Sequence[str],
    digest: str,
    now: datetime,
) -> WorkflowRun:
    """The project, version and workflow (created when missing) and the finished run."""
    wf_facts = mapped.workflow
    project = projects.ensure(session, actor, str(wf_facts["project"]))
    workflow = workflows.ensure(session, actor, project, str(wf_facts["name"]), None)
    org = session.get(Organization, actor.org_id)
    assert org is not None
    version = wf_facts.get("projectVersion")
    version_row = versions.for_run(session, actor, org, project, version) if version else None
    contract = session.get(ContractRow, workflow.contract_id)
    assert contract is not None
    started = _moment(mapped.started_on) or now
    finished = _moment(mapped.finished_on) or started
    run = WorkflowRun(
        org_id=actor.org_id,
        workflow_id=workflow.id,
        project_version_id=version_row.id if version_row else None,
        status="succeeded",
        runner_type=str(mapped.runner.get("type") or "RUNNER_TYPE_UNSPECIFIED"),
        runner_url=mapped.runner.get("url"),
        runner=mapped.runner,
        contract_revision_id=contracts.revision(session, contract).id,
        created_at=started,
        finished_at=finished,
        attestation_digest=digest,
        verification={
            "verified": True,
            "source": SOURCE,
            "identity": identity,
            "checked_at": rfc3339(now),
            "certificate_authorities": [_fingerprint(pem) for pem in ca_pems],
            # The CAs themselves (public certificates): `workflow run describe --verify`
            # checks the bundle against them again (client/verify_run.py).
            "ca_certificates": list(ca_pems),
            # Chainloop's verdict in the words the VSA reads (services/slsa.py vsa_passed):
            # violations gate only where Chainloop enforced its policies.
            "policy": {
                "violations": mapped.violations,
                "gated_violations": (
                    mapped.violations if mapped.policy_strategy == "ENFORCED" else 0
                ),
            },
            "chainloop": {
                "run_id": wf_facts.get("runID"),
                "workflow_id": wf_facts.get("workflowID"),
                "org": wf_facts.get("org"),
                "contract": wf_facts.get("contractName"),
                "contract_revision": wf_facts.get("contractRevision"),
                "policy_strategy": mapped.policy_strategy,
                "policy_evaluations": list(mapped.policy_evaluations),
            },
        },
        policy_result=(
            "violated" if mapped.violations else "passed" if mapped.policy_evaluations else "none"
        ),
    )
    session.add(run)
    session.flush()
    workflow_stats.started(session, run)
    return run


def _record_evaluations(
    session: Session, run: WorkflowRun, predicate: dict[str, Any], strategy: str | None
) -> None:
    """Chainloop's policy evaluations as the run's (``GET /runs/{id}/policy-evaluations``):
    its own form is the one that table keeps; ``source`` says Chainloop evaluated them,
    ``gate`` is the evaluation's, else whether Chainloop enforced its policies."""
    position = 0
    for scope, items in (predicate.get("policyEvaluations") or {}).items():
        for item in items:
            if not isinstance(item.get("name"), str):
                continue  # read_predicate accepted it; nothing names it here
            gate = item.get("gate")
            violations = [v for v in item.get("violations") or [] if isinstance(v, dict)]
            session.add(
                PolicyEvaluationRow(
                    position=position,
                    run_id=run.id,
                    org_id=run.org_id,
                    material=None if scope == ATTESTATION_SCOPE else scope,
                    policy=item["name"][:200],
                    kind=str(item.get("type") or "")[:50],
                    source=SOURCE,
                    gate=gate if isinstance(gate, bool) else strategy == "ENFORCED",
                    skipped=item.get("skipped") is True,
                    violations=violations,
                    evaluation=item,
                )
            )
            position += 1


def _moment(text: str | None) -> datetime | None:
    """An RFC 3339 time as Chainloop writes it (nanoseconds, any offset), in UTC."""
    if not text:
        return None
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds: drop the extra digits, keep the offset
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)] + rest[digits:]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fingerprint(pem: str) -> str:
    """SHA-256 of the CA certificate (DER): which CA vouched for an imported run."""
    try:
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except ValueError:
        raise InvalidInput("a Chainloop CA certificate is not PEM") from None
    return str(Digest.of_bytes(der))


def _answer(session: Session, run: WorkflowRun, *, created: bool) -> dict[str, Any]:
    view = runs.view(session, run, materials=True)
    return {"run": view, "created": created, "materials": view.pop("materials")}
