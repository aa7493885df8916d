"""What the drift rules (core/drift.py) read about one workflow: run summaries and facts.

Bounded by the rules' window: the workflow's last ``window`` runs, with the materials,
annotations and policy results of the latest two successful ones among them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.contract import Contract
from chainproof.core.drift import DriftSettings, RunSummary, WorkflowFacts
from chainproof.server.db import (
    Attestation,
    ContractRevision,
    ContractRow,
    Material,
    PolicyEvaluationRow,
    Workflow,
    WorkflowRun,
)

SETTINGS_KEY = "chainproof.drift_settings"
"""Where the app factory puts the :class:`DriftSettings` in ``session.info``."""


def settings_of(session: Session) -> DriftSettings:
    """The server's drift settings (defaults outside the app, e.g. in scripts)."""
    found = session.info.get(SETTINGS_KEY)
    return found if isinstance(found, DriftSettings) else DriftSettings()


def history(session: Session, wf: Workflow, window: int) -> list[RunSummary]:
    """The workflow's last ``window`` runs, newest first."""
    rows = list(
        session.execute(
            select(WorkflowRun, ContractRevision.revision, ContractRow.name)
            .join(ContractRevision, ContractRevision.id == WorkflowRun.contract_revision_id)
            .join(ContractRow, ContractRow.id == ContractRevision.contract_id)
            .where(WorkflowRun.workflow_id == wf.id)
            .order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc())
            .limit(window)
        )
    )
    # The rules compare the latest two successful runs: only theirs are read in detail.
    done = [run.id for run, _, _ in rows if run.status == "succeeded"][:2]
    kinds = _material_kinds(session, done)
    annotations = _annotations(session, done)
    passed, failed = _policies(session, done)
    return [
        RunSummary(
            id=run.id,
            status=run.status,
            created_at=run.created_at,
            runner_type=run.runner_type,
            runner_environment=str((run.runner or {}).get("environment") or "unknown"),
            contract_revision=revision,
            contract=contract,
            material_kinds=frozenset(kinds[run.id]),
            annotations=frozenset(annotations[run.id]),
            policies_passed=frozenset(passed[run.id]),
            policies_failed=frozenset(failed[run.id]),
        )
        for run, revision, contract in rows
    ]


def facts(
    session: Session, wf: Workflow, still_missing: dict[str, Any] | None = None
) -> WorkflowFacts:
    """The workflow's contract facts and cadence override."""
    contract = session.get(ContractRow, wf.contract_id)
    assert contract is not None
    spec = session.scalar(
        select(ContractRevision.spec).where(
            ContractRevision.contract_id == contract.id,
            ContractRevision.revision == contract.latest_revision,
        )
    )
    missing = {
        key: tuple(str(v) for v in values)
        for key, values in (still_missing or {}).items()
        if key in ("material_kinds", "annotations", "policies") and isinstance(values, list)
    }
    return WorkflowFacts(
        contract_requires_nothing=requires_nothing(spec or {}),
        latest_revision=contract.latest_revision,
        contract=contract.name,
        cadence_override=(
            timedelta(seconds=wf.cadence_seconds) if wf.cadence_seconds is not None else None
        ),
        still_missing=missing,
    )


def requires_nothing(spec: dict[str, Any]) -> bool:
    """Whether a stored contract spec asks for no evidence at all (the empty contract
    implicit creation gives, whatever its name)."""
    contract = Contract.from_dict(spec)
    return not (
        contract.materials
        or contract.env_allow_list
        or contract.runner_type
        or contract.annotations
        or any(contract.policies.values())
        or contract.policy_groups
    )


def _material_kinds(session: Session, run_ids: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    if run_ids:
        query = select(Material.run_id, Material.kind).where(Material.run_id.in_(run_ids))
        for run_id, kind in session.execute(query):
            out[run_id].add(kind)
    return out


def _annotations(session: Session, run_ids: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    if run_ids:
        query = select(Attestation.run_id, Attestation.statement).where(
            Attestation.run_id.in_(run_ids)
        )
        for run_id, statement in session.execute(query):
            given = ((statement or {}).get("predicate") or {}).get("annotations") or {}
            out[run_id].update(str(name) for name, value in given.items() if value)
    return out


def _policies(
    session: Session, run_ids: list[str]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    passed: dict[str, set[str]] = defaultdict(set)
    failed: dict[str, set[str]] = defaultdict(set)
    if run_ids:
        query = select(
            PolicyEvaluationRow.run_id, PolicyEvaluationRow.policy, PolicyEvaluationRow.violations
        ).where(PolicyEvaluationRow.run_id.in_(run_ids), PolicyEvaluationRow.skipped.is_(False))
        for run_id, policy, violations in session.execute(query):
            (failed if violations else passed)[run_id].add(policy)
    for run_id, names in failed.items():
        passed[run_id] -= names  # failing on any material is failing
    return passed, failed
