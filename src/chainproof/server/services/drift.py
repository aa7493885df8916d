"""What the drift rules (core/drift.py) read about one workflow: run summaries and facts.

Bounded by the rules' window: the workflow's last ``window`` runs, with the materials,
annotations and policy results of the latest two successful ones among them. One statement
reads it all (:func:`read`: a UNION ALL of the window, the contract's newest revision and the
two runs' evidence), since a reconcile follows every push (issue 16).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    desc,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import SQLCoreOperations

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

CACHE_LIMIT = 10_000
"""Revisions :data:`REQUIRES_NOTHING` holds before it starts over."""

#: Contract revision id → whether its spec requires nothing. Revisions are never updated in
#: place (services/contracts.py only adds them): each is parsed once per process.
REQUIRES_NOTHING: dict[str, bool] = {}

# The kinds of rows :func:`_statement` returns, in the order they come back.
_RUN, _CONTRACT, _MATERIAL, _ANNOTATIONS, _POLICY = range(5)
_Evidence = dict[str, set[str]]
_COLUMNS = ("tag", "id", "at", "status", "name", "contract", "n", "doc")


def settings_of(session: Session) -> DriftSettings:
    """The server's drift settings (defaults outside the app, e.g. in scripts)."""
    found = session.info.get(SETTINGS_KEY)
    return found if isinstance(found, DriftSettings) else DriftSettings()


def read(
    session: Session, wf: Workflow, window: int, still_missing: dict[str, Any] | None = None
) -> tuple[list[RunSummary], WorkflowFacts]:
    """The workflow's last ``window`` runs, newest first, and its facts: one statement (and
    one more the first time this process meets its contract's newest revision)."""
    params = {"workflow_id": wf.id, "contract_id": wf.contract_id, "window": window}
    rows = list(session.execute(_statement(), params))
    runs = [row for row in rows if row.tag == _RUN]
    # The rules compare the latest two successful runs of the window: the statement read
    # the evidence of the workflow's latest two, which may reach past the window.
    done = [row.id for row in runs if row.status == "succeeded"][:2]
    kinds, annotations, passed, failed = _evidence([r for r in rows if r.id in done])
    summaries = [
        RunSummary(
            id=row.id,
            status=row.status,
            created_at=row.at,
            runner_type=row.name,
            runner_environment=str(row.doc or "unknown"),
            contract_revision=row.n,
            contract=row.contract,
            material_kinds=frozenset(kinds[row.id]),
            annotations=frozenset(annotations[row.id]),
            policies_passed=frozenset(passed[row.id]),
            policies_failed=frozenset(failed[row.id]),
        )
        for row in runs
    ]
    (contract,) = (row for row in rows if row.tag == _CONTRACT)
    return summaries, _facts(session, wf, contract, still_missing)


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


def _facts(
    session: Session, wf: Workflow, contract: Row[Any], still_missing: dict[str, Any] | None
) -> WorkflowFacts:
    """The workflow's contract facts and cadence override (``contract``: its row of the
    statement, the newest revision's id, the contract's name and newest revision number)."""
    missing = {
        key: tuple(str(v) for v in values)
        for key, values in (still_missing or {}).items()
        if key in ("material_kinds", "annotations", "policies") and isinstance(values, list)
    }
    return WorkflowFacts(
        contract_requires_nothing=_requires_nothing(session, contract.id),
        latest_revision=contract.n,
        contract=contract.contract,
        cadence_override=(
            timedelta(seconds=wf.cadence_seconds) if wf.cadence_seconds is not None else None
        ),
        still_missing=missing,
    )


def _requires_nothing(session: Session, revision_id: str) -> bool:
    found = REQUIRES_NOTHING.get(revision_id)
    if found is None:
        spec = session.scalar(
            select(ContractRevision.spec).where(ContractRevision.id == revision_id)
        )
        found = requires_nothing(spec or {})
        if len(REQUIRES_NOTHING) >= CACHE_LIMIT:
            REQUIRES_NOTHING.clear()
        REQUIRES_NOTHING[revision_id] = found
    return found


def _evidence(rows: Sequence[Row[Any]]) -> tuple[_Evidence, _Evidence, _Evidence, _Evidence]:
    """Material kinds, annotations, passed and failed policies by run, from the evidence
    rows of the statement."""
    kinds: _Evidence = defaultdict(set)
    annotations: _Evidence = defaultdict(set)
    passed: _Evidence = defaultdict(set)
    failed: _Evidence = defaultdict(set)
    for row in rows:
        if row.tag == _MATERIAL:
            kinds[row.id].add(row.name)
        elif row.tag == _ANNOTATIONS and isinstance(row.doc, dict):
            annotations[row.id].update(str(name) for name, value in row.doc.items() if value)
        elif row.tag == _POLICY:
            # ``doc`` is the first violation: None when there are none.
            (failed if row.doc is not None else passed)[row.id].add(row.name)
    for run_id, names in failed.items():
        passed[run_id] -= names  # failing on any material is failing
    return kinds, annotations, passed, failed


@cache  # built once: building it cost as much as running it
def _statement() -> CompoundSelect[Any]:
    """One UNION ALL over portable SQL (SQLite and PostgreSQL): columns ``tag`` (the row's
    kind), ``id`` (the run's; the contract row: its newest revision's), ``at``, ``status``,
    ``name`` (runner type, contract, material kind or policy), ``contract``, ``n`` (revision
    number) and ``doc`` (a JSON value: the runner's environment, the statement's annotations
    or a policy's first violation). JSON paths keep large documents in the database."""
    workflow = bindparam("workflow_id", type_=String)
    last = (
        select(
            WorkflowRun.id,
            WorkflowRun.created_at,
            WorkflowRun.status,
            WorkflowRun.runner_type,
            ContractRow.name,
            ContractRevision.revision,
            WorkflowRun.runner["environment"].label("environment"),
        )
        .join(ContractRevision, ContractRevision.id == WorkflowRun.contract_revision_id)
        .join(ContractRow, ContractRow.id == ContractRevision.contract_id)
        .where(WorkflowRun.workflow_id == workflow)
        .order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc())
        .limit(bindparam("window", type_=Integer))
        .subquery()
    )
    done = (
        select(WorkflowRun.id)
        .where(WorkflowRun.workflow_id == workflow, WorkflowRun.status == "succeeded")
        .order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc())
        .limit(2)
    )
    # The first branch types every column (PostgreSQL resolves the others' NULLs to them).
    runs = select(*(c.label(n) for c, n in zip((_tag(_RUN), *last.c), _COLUMNS, strict=True)))
    newest = and_(
        ContractRevision.contract_id == ContractRow.id,
        ContractRevision.revision == ContractRow.latest_revision,
    )
    contract = (
        _branch(
            _CONTRACT, ContractRevision.id, contract=ContractRow.name, n=ContractRow.latest_revision
        )
        .join(ContractRevision, newest)
        .where(ContractRow.id == bindparam("contract_id", type_=String))
    )
    materials = _branch(_MATERIAL, Material.run_id, name=Material.kind)
    annotations = _branch(
        _ANNOTATIONS, Attestation.run_id, doc=Attestation.statement[("predicate", "annotations")]
    )
    policies = _branch(
        _POLICY,
        PolicyEvaluationRow.run_id,
        name=PolicyEvaluationRow.policy,
        doc=PolicyEvaluationRow.violations[0],
    ).where(PolicyEvaluationRow.skipped.is_(False))
    every = union_all(
        runs,
        contract,
        materials.where(Material.run_id.in_(done)),
        annotations.where(Attestation.run_id.in_(done)),
        policies.where(PolicyEvaluationRow.run_id.in_(done)),
    )
    return every.order_by(literal_column("tag"), desc("at"), desc("id"))


def _branch(
    kind: int,
    row_id: SQLCoreOperations[Any],
    *,
    name: SQLCoreOperations[Any] | None = None,
    contract: SQLCoreOperations[Any] | None = None,
    n: SQLCoreOperations[Any] | None = None,
    doc: SQLCoreOperations[Any] | None = None,
) -> Select[Any]:
    """A branch of the statement after the first: NULL in the columns it leaves out."""
    columns = (_tag(kind), row_id, None, None, name, contract, n, doc)
    return select(*(null() if c is None else c for c in columns))


def _tag(kind: int) -> ColumnElement[int]:
    return literal_column(str(kind), Integer)
