"""SLSA outputs of runs: the VSA of each verified push, and Provenance v1 rendered on request.

Both are signed by the control plane itself (:func:`signing.sign_as_verifier`: a one-use key
certified by the organisation's CA as ``chainproof://{org}/verifier``) and notarised like a
run's own attestation (a transparency-log entry and an RFC 3161 timestamp), so anyone holding
the organisation's trusted root verifies them offline, with chainproof or sigstore-python.

Each is signed once and stored with the run's summary: the VSA right after the push is
answered (services/after_push.py), or on its first read if that follow-up has not run yet
(:func:`ensure_vsa`; the worker issues any a crash left missing), the provenance on its first
request. Serving a stored bundle keeps readers from growing the log with every GET.

The control plane's public URL (the VSA's ``verifier.id``, and the base of the attestation
URIs) reaches this module through ``session.info[SERVER_URL_KEY]``, which the app factory sets
on its sessionmaker: the push service then needs no extra argument.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from chainproof.core.bundle import Bundle

from chainproof.core import slsa
from chainproof.errors import Conflict, NotFound
from chainproof.server.db import (
    Attestation,
    ContractRevision,
    ContractRow,
    Material,
    Organization,
    Project,
    ProjectVersion,
    VerificationSummary,
    Workflow,
    WorkflowRun,
)
from chainproof.server.db.base import new_id, utcnow
from chainproof.server.services import audit, runs, signing, tlog
from chainproof.server.support.principal import Principal

__all__ = [
    "SERVER_URL_KEY",
    "VERIFIED",
    "build_level",
    "claim_many",
    "ensure_vsa",
    "facts_of",
    "get_vsa",
    "issue_vsa",
    "provenance",
    "render",
    "server_url",
    "verified",
    "vsa_passed",
]

#: ``Session.info`` key holding the control plane's public base URL.
SERVER_URL_KEY = "chainproof.server_url"
_FALLBACK_URL = "https://chainproof.local"  # the CA's issuer URI (signing.ca.DEFAULT_ISSUER)


def server_url(session: Session) -> str:
    """The control plane's public base URL, as configured on the session factory."""
    return str(session.info.get(SERVER_URL_KEY) or _FALLBACK_URL).rstrip("/")


#: ``runner_environment`` claims of runners the CI provider itself operates.
HOSTED_RUNNERS = frozenset({"github-hosted", "gitlab-hosted"})


def build_level(run: WorkflowRun, attestation: Attestation) -> int:
    """The SLSA Build level claimed for ``run``; the one place that decides it.

    L2 needs the runner identity verified by the control plane (docs/architecture.md §9,
    docs/ci-identity.md): the run was started with a CI job's verified OIDC ID token whose
    claims say the provider's hosted runner ran it, and the attestation was signed under a
    certificate issued to that job (it records the job's OIDC issuer, which the CA writes
    only for it). Every other run is Build L1.
    """
    verified = _hosted_job_signed(run, attestation)
    return slsa.build_level(run.runner or {}, runner_identity_verified=verified)


def _hosted_job_signed(run: WorkflowRun, attestation: Attestation) -> bool:
    from cryptography import x509

    from chainproof.core.bundle import Bundle
    from chainproof.signing.identity import certificate_identity

    identity = run.ci_identity or {}
    if (identity.get("claims") or {}).get("runner_environment") not in HOSTED_RUNNERS:
        return False
    leaf = Bundle.from_json(attestation.bundle).leaf_certificate_der
    if leaf is None:  # signed with a key: not the job's certificate
        return False
    signer = certificate_identity(x509.load_der_x509_certificate(leaf))
    return signer.issuer == identity.get("issuer")


def _facts(session: Session, run: WorkflowRun) -> tuple[Attestation, slsa.RunFacts]:
    """The run's attestation and what its VSA and provenance say, read in two statements
    (a follow-up's fresh session holds none of the run's context)."""
    found = facts_of(session, [run])
    if run.id not in found:
        raise Conflict(f"run {run.id} has no attestation: there is nothing to summarise")
    return found[run.id]


def facts_of(
    session: Session, runs: list[WorkflowRun]
) -> dict[str, tuple[Attestation, slsa.RunFacts]]:
    """:func:`_facts` of each of ``runs`` that has an attestation, read in two statements
    whatever their number."""
    version = (
        select(ProjectVersion.version)
        .where(ProjectVersion.id == WorkflowRun.project_version_id)
        .scalar_subquery()
    )
    stmt = select(
        Attestation, Workflow, Project, Organization, ContractRevision, ContractRow, version
    ).where(Attestation.run_id.in_([run.id for run in runs]))
    # Joined on each run's keys: one statement, none of them a cartesian product.
    stmt = (
        stmt.join(WorkflowRun, WorkflowRun.id == Attestation.run_id)
        .join(Workflow, Workflow.id == WorkflowRun.workflow_id)
        .join(Project, Project.id == Workflow.project_id)
        .join(Organization, Organization.id == WorkflowRun.org_id)
        .join(ContractRevision, ContractRevision.id == WorkflowRun.contract_revision_id)
        .join(ContractRow, ContractRow.id == ContractRevision.contract_id)
    )
    rows = {row[0].run_id: row for row in session.execute(stmt)}
    materials: dict[str, list[Material]] = {run_id: [] for run_id in rows}
    if rows:
        listed = select(Material).where(Material.run_id.in_(list(rows)))
        for m in session.scalars(listed.order_by(Material.run_id, Material.name)):
            materials[m.run_id].append(m)
    return {
        run.id: (rows[run.id][0], _run_facts(session, run, rows[run.id], materials[run.id]))
        for run in runs
        if run.id in rows
    }


def _run_facts(
    session: Session, run: WorkflowRun, row: Any, materials: list[Material]
) -> slsa.RunFacts:
    from chainproof.signing.ca import identity_uri

    attestation, wf, project, org, rev, contract, project_version = row
    runner = dict(run.runner or {})
    runner.setdefault("type", run.runner_type)
    runner.setdefault("url", run.runner_url)
    return slsa.RunFacts(
        org=org.name,
        project=project.name,
        workflow=wf.name,
        workflow_id=wf.id,
        run_id=run.id,
        run_uri=identity_uri(org.name, project.name, wf.name, run.id),
        project_version=project_version,
        contract_name=contract.name,
        contract_revision=rev.revision,
        contract_digest="sha256:" + hashlib.sha256(rev.raw.encode("utf-8")).hexdigest(),
        runner=runner,
        started_on=run.created_at,
        finished_on=run.finished_at,
        attestation_digest=attestation.digest,
        attestation_uri=f"{server_url(session)}/api/v1/runs/{run.id}/bundle",
        statement=attestation.statement,
        materials=[
            {"name": m.name, "digest": m.digest, "kind": m.kind, "output": m.output}
            for m in materials
        ],
    )


def _version() -> str:
    from chainproof import __version__

    return __version__


def _signed(
    session: Session,
    run: WorkflowRun,
    org_name: str,
    statement: dict[str, Any],
    *,
    now: datetime,
) -> Bundle:
    """``statement`` signed as the verifier, logged and timestamped."""
    bundle = signing.sign_as_verifier(session, run.org_id, org_name, statement, now=now)
    notarised, _ = tlog.notarise(session, run.org_id, org_name, bundle, now=now, run_id=run.id)
    return notarised


def vsa_passed(run: WorkflowRun) -> bool:
    """Whether the run's VSA says PASSED: its recorded verification succeeded and no gated
    policy was violated (a run blocked by policy, or let through by a bypass, FAILED)."""
    verification = run.verification or {}
    gated = (verification.get("policy") or {}).get("gated_violations", 0)
    return bool(verification.get("verified")) and not gated


def _time_verified(run: WorkflowRun, now: datetime) -> datetime:
    """When the control plane verified the run: at its push (``finished_at``), or for a run
    imported from Chainloop (services/imports.py), at its import, not when Chainloop ran it.
    Never this signing's time."""
    checked = (run.verification or {}).get("checked_at")
    if (run.verification or {}).get("source") == "chainloop" and isinstance(checked, str):
        return datetime.fromisoformat(checked.replace("Z", "+00:00"))
    return run.finished_at or now


#: Run statuses whose push was accepted (see :func:`verified`).
VERIFIED = ("succeeded", "blocked")


def verified(run: WorkflowRun) -> bool:
    """Whether ``run`` gets a VSA: its push was accepted (``succeeded``, or ``blocked`` by
    policy with its evidence kept) and its recorded verification says ``verified``."""
    return run.status in VERIFIED and bool((run.verification or {}).get("verified"))


def issue_vsa(
    session: Session,
    run: WorkflowRun,
    *,
    now: datetime | None = None,
    policies_passed: bool | None = None,
) -> bool:
    """Sign, log and store the VSA of a verified run, unless it has one; whether it issued.

    PASSED or FAILED as :func:`vsa_passed` says (``policies_passed=False`` forces FAILED).
    The level is :func:`build_level`. The run's summary row is claimed first
    (:func:`_claim`), so the push's follow-up, a reader and the worker's repair never all
    sign and log one.
    """
    now = now or utcnow()
    claimed = _claim(session, run.id, now)
    if claimed is None:
        return False
    attestation, facts = _facts(session, run)
    vsa = render(session, run, attestation, facts, now=now, policies_passed=policies_passed)
    bundle = _signed(session, run, facts.org, vsa.statement, now=now)
    session.execute(
        update(VerificationSummary).where(VerificationSummary.id == claimed).values(vsa.row(bundle))
    )
    audit.record(session, run.org_id, None, "run.vsa", run.id, **vsa.audit)
    return True


@dataclass(frozen=True)
class Rendered:
    """A run's VSA before it is signed: its statement and what its summary row says."""

    statement: dict[str, Any]
    result: str
    level: int

    @property
    def audit(self) -> dict[str, Any]:
        """The ``run.vsa`` audit event's data."""
        return {"result": self.result, "level": self.level}

    def row(self, bundle: Bundle) -> dict[str, Any]:
        """The summary row's values once ``bundle`` (the signed statement) is notarised."""
        return {
            "result": self.result,
            "level": self.level,
            "bundle": bundle.to_json(),
            "digest": str(bundle.digest()),
            "statement": self.statement,
        }


def render(
    session: Session,
    run: WorkflowRun,
    attestation: Attestation,
    facts: slsa.RunFacts,
    *,
    now: datetime,
    policies_passed: bool | None = None,
) -> Rendered:
    """The run's VSA statement: PASSED or FAILED as :func:`vsa_passed` says, at
    :func:`build_level`."""
    passed = vsa_passed(run) and policies_passed is not False
    level = build_level(run, attestation)
    statement = slsa.render_vsa(
        facts,
        verifier_id=server_url(session),
        verifier_version=_version(),
        time_verified=_time_verified(run, now),
        passed=passed,
        level=level,
    )
    return Rendered(statement, "PASSED" if passed else "FAILED", level)


def _claim(session: Session, run_id: str, now: datetime) -> str | None:
    """Insert the run's summary row (filled once signed, in this transaction); its id, or
    None when the run has one.

    One statement is both the lock and the check: an insert of a ``run_id`` another
    transaction has inserted and not committed waits for it (PostgreSQL), and an insert takes
    SQLite's write lock; either way the conflict is then seen and nothing is inserted. A
    ``SELECT ... FOR UPDATE`` of the run would not do: on PostgreSQL, the check joined to it
    reads the snapshot taken before the wait, and SQLite has no row locks.
    """
    return claim_many(session, [run_id], now).get(run_id)


def claim_many(session: Session, run_ids: list[str], now: datetime) -> dict[str, str]:
    """:func:`_claim` the summary rows of ``run_ids`` in one statement; the id of each row
    inserted, by run (a run that has one is left out)."""
    if not run_ids:
        return {}
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    rows = [
        {
            "id": new_id(),
            "run_id": run_id,
            "result": "",
            "level": 0,
            "bundle": "",
            "digest": "",
            "statement": {},
            "created_at": now,
        }
        for run_id in sorted(run_ids)  # one lock order, so two batches cannot deadlock
    ]
    stmt = (
        insert(VerificationSummary)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["run_id"])
        .returning(VerificationSummary.run_id, VerificationSummary.id)
    )
    return {run_id: row_id for run_id, row_id in session.execute(stmt)}


def ensure_vsa(session: Session, run: WorkflowRun) -> VerificationSummary | None:
    """The run's VSA, issued on the spot when the run is verified and has none yet (its
    push's follow-up has not run, or crashed); None for a run that gets none."""
    row = _summary(session, run.id)
    if row is None and verified(run):
        issue_vsa(session, run)  # False: another request or the worker issued it meanwhile
        row = _summary(session, run.id)
    return row


def _summary(session: Session, run_id: str, *, lock: bool = False) -> VerificationSummary | None:
    stmt = select(VerificationSummary).where(VerificationSummary.run_id == run_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def get_vsa(session: Session, actor: Principal, run_id: str) -> dict[str, Any]:
    """The signed VSA bundle of a readable run, issued on the spot if its push's follow-up
    has not yet (:func:`ensure_vsa`); NotFound for a run that has none."""
    run = runs.get_run(session, actor, run_id)
    row = ensure_vsa(session, run)
    if row is None:
        raise NotFound(
            f"run {run.id} has no verification summary (it is {run.status}; summaries are "
            "issued for runs whose push was verified)"
        )
    bundle: dict[str, Any] = json.loads(row.bundle)
    return bundle


def provenance(session: Session, actor: Principal, run_id: str) -> dict[str, Any]:
    """The run as signed SLSA Provenance v1 (a bundle JSON object), signed on first request.

    Conflict unless the run succeeded: only a verified push says what the run produced.
    """
    run = runs.get_run(session, actor, run_id)
    if run.status != "succeeded":
        raise Conflict(
            f"run {run.id} is {run.status}: only succeeded runs have provenance",
            hint="provenance describes a run whose attestation the control plane verified",
        )
    runs.get_attestation(session, actor, run.id)  # NotFound unless readable and pushed
    ensure_vsa(session, run)
    summary = _summary(session, run.id, lock=True)
    if summary is None:
        raise NotFound(
            f"run {run.id} has no verification summary (it was pushed before this server "
            "issued them), so no provenance either"
        )
    if summary.provenance_bundle is None:
        _, facts = _facts(session, run)
        statement = slsa.render_provenance(facts, builder_version=_version())
        bundle = _signed(session, run, facts.org, statement, now=utcnow())
        summary.provenance_bundle = bundle.to_json()
        session.flush()
        audit.record(
            session, run.org_id, None, "run.provenance", run.id, digest=str(bundle.digest())
        )
    stored: dict[str, Any] = json.loads(summary.provenance_bundle)
    return stored
