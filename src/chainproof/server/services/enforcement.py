"""Policies at push: the control plane's own evaluation, the gates, and what it records.

The CLI evaluates policies for quick feedback and writes its results into the statement it
signs, but a CI job is not trusted to judge itself: at push the control plane evaluates
again, authoritatively, every policy it can load (built-in, stored by the organisation,
``https://``) on the material content it holds (the CAS blob, or the bytes embedded in the
statement), and decides the gates itself. Only ``file://`` policies, which live in the job's
checkout, are taken from the signed statement (``source: client``).

Runtime policy inputs recorded in the statement (``policyInputs``) replace the contract's
values as they did in the CLI; ``http.send`` reaches only the organisation's
``policy_allowed_hostnames``.

Which policies apply: the run's contract revision's ``policies`` and ``policyGroups``, plus
the organisation's **required policies**, which no contract can drop (``required: true``).

A violation blocks the push when its evaluation is gated: the attachment's ``gate``, else its
group attachment's, else the organisation's strategy (``enforced`` gates everything,
``advisory`` nothing). A policy that cannot be loaded or evaluated (a bad reference, the
time limit) counts as a violation: a broken gate must not open.

The evaluations are bounded by :class:`~.policy_input.Limits` (the server's ``policy_*``
settings): the worker pool, time and memory limits, the largest material content evaluated,
and how many materials are loaded and evaluated at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.contract import parse_required_policies
from chainproof.core.statement import MaterialDescriptor, Statement
from chainproof.errors import ChainproofError
from chainproof.server.db import (
    ContractRevision,
    ContractRow,
    Organization,
    PolicyEvaluationRow,
    WorkflowRun,
)
from chainproof.server.services import orgs
from chainproof.server.services import policies as stored_policies
from chainproof.server.services.policy_input import BlobReader, Content, Limits, default_limits
from chainproof.server.telemetry import metrics

if TYPE_CHECKING:
    from chainproof.core.contract import Contract
    from chainproof.policy import PolicyEvaluation, PolicyVerifier
    from chainproof.policy.runtime import RuntimeInputs

__all__ = [
    "BlobReader",
    "Checked",
    "Limits",
    "Verdict",
    "evaluate",
    "record",
    "stored",
]

ATTESTATION = "ATTESTATION"


_OPAQUE = ("CONTAINER_IMAGE", "STRING", "HELM_CHART")  # policies read their metadata only


@dataclass(frozen=True)
class Checked:
    """One evaluation, who made it, and whether its violations block."""

    evaluation: PolicyEvaluation
    source: str  # server | client
    gate: bool
    required: bool = False

    @property
    def violated(self) -> bool:
        """Evaluated and found at least one violation."""
        return bool(self.evaluation.violations) and not self.evaluation.skipped

    def to_dict(self) -> dict[str, Any]:
        """The API form: the evaluation (Chainloop's shape) with source, gate, required."""
        return {
            **self.evaluation.to_dict(),
            "source": self.source,
            "gate": self.gate,
            "required": self.required,
        }


@dataclass(frozen=True)
class Verdict:
    """Every policy evaluation of a push, and the organisation's strategy."""

    checked: tuple[Checked, ...]
    strategy: str

    @property
    def violated(self) -> list[Checked]:
        """Evaluations with violations, gated or not."""
        return [c for c in self.checked if c.violated]

    @property
    def gated(self) -> list[Checked]:
        """Violations that block the push."""
        return [c for c in self.checked if c.violated and c.gate]

    def summary(self, *, blocked: bool, bypassed: bool) -> dict[str, Any]:
        """What the run records under ``verification.policy``."""
        return {
            "strategy": self.strategy,
            "evaluated": len(self.checked),
            "violated": len(self.violated),
            "gated_violations": len(self.gated),
            "blocked": blocked,
            "bypassed": bypassed,
        }

    def describe_gated(self) -> str:
        """``policy (material): message; ...`` for the refusal's message."""
        return describe(self.gated)


def describe(checked: Sequence[Checked]) -> str:
    """A one-line list of violations, ``policy on material: message``."""
    parts = []
    for c in checked:
        where = c.evaluation.material_name or "the attestation"
        messages = "; ".join(v.message for v in c.evaluation.violations)
        parts.append(f"{c.evaluation.name} on {where}: {messages}")
    return " | ".join(parts)


# -- evaluation ----------------------------------------------------------------------------
def evaluate(
    session: Session,
    run: WorkflowRun,
    statement: Statement,
    *,
    read_blob: BlobReader | None,
    cas_backends: Mapping[str, str | None],
    limits: Limits | None = None,
) -> Verdict:
    """Evaluate the run's contract and the organisation's required policies on a verified
    statement. ``cas_backends`` maps each CAS material's digest to its backend (None: the
    embedded store); ``read_blob`` reads it (None: CAS content cannot be read, and policies
    on it are recorded as violations). Bare names resolve to the organisation's stored
    policies first, then to the built-in ones. ``limits``: the server's (default: the
    built-in defaults, one engine for the process)."""
    limits = limits or default_limits()
    org = session.get(Organization, run.org_id)
    assert org is not None
    strategy = org.policy_strategy or orgs.DEFAULT_POLICY_STRATEGY
    contract = _contract(session, run)
    sets: list[tuple[Contract, bool]] = [(contract, False)]
    if org.required_policies:
        sets.append((parse_required_policies(org.required_policies), True))
    materials = statement.materials
    reported = _client_reported(statement.predicate.get("policyEvaluations"))
    inputs = _runtime_inputs(statement)
    hosts = tuple(org.policy_allowed_hostnames or ())
    checked: list[Checked] = []
    with Content(None, read_blob, cas_backends, limits.max_input_bytes) as content:
        for policies, required in sets:
            checked.extend(
                _evaluate_set(
                    policies,
                    required,
                    strategy,
                    statement,
                    materials,
                    content,
                    session,
                    run,
                    limits,
                    inputs,
                    hosts,
                )
            )
            checked.extend(
                Checked(e, "client", _gate(e.gate, strategy), required)
                for e in _reported_for(policies, reported)
            )
    return Verdict(tuple(checked), strategy)


def _runtime_inputs(statement: Statement) -> RuntimeInputs:
    """The runtime policy inputs the job gave (``--policy-input``), recorded in the signed
    predicate: the control plane evaluates with the same values. Names no policy declares
    are ignored here (the CLI refused them; the organisation's required policies may not
    declare what the contract's do)."""
    from chainproof.policy.runtime import RuntimeInputs

    return RuntimeInputs.from_list(statement.predicate.get("policyInputs"))


def _contract(session: Session, run: WorkflowRun) -> Contract:
    """The run's contract revision, parsed once per process: revisions never change (a new
    text is a new revision), and parsing the YAML was a tenth of a push's time."""
    from chainproof.core.contract import Contract

    rev = session.get(ContractRevision, run.contract_revision_id)
    assert rev is not None
    found = _PARSED.get(rev.id)
    if found is None:
        row = session.get(ContractRow, rev.contract_id)
        source = f"contract {row.name if row else '?'} revision {rev.revision}"
        found = Contract.parse(rev.raw, source=source)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()  # a bound, not a policy: re-parsing is only slower
        _PARSED[rev.id] = found
    return found


#: Parsed contract revisions by revision id (Contract is frozen, so sharing one is safe).
_PARSED: dict[str, Contract] = {}
_PARSED_MAX = 1024


def _gate(gate: bool | None, strategy: str) -> bool:
    return gate if gate is not None else strategy == "enforced"


def _failure(
    name: str, material: str | None, kind: str, problem: str, gate: bool | None
) -> PolicyEvaluation:
    from chainproof.policy import PolicyEvaluation, Violation

    return PolicyEvaluation(
        name=name,
        material_name=material,
        kind=kind,
        violations=(Violation(name, f"the control plane could not evaluate it: {problem}"),),
        gate=gate,
    )


def _server_side(attachments: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The attachments the control plane evaluates itself (all but ``file://`` ones)."""
    return [a for a in attachments if not str(a.get("ref") or "").startswith("file://")]


def _evaluate_set(
    contract: Contract,
    required: bool,
    strategy: str,
    statement: Statement,
    materials: Sequence[MaterialDescriptor],
    content: Content,
    session: Session,
    run: WorkflowRun,
    limits: Limits,
    inputs: RuntimeInputs,
    hosts: tuple[str, ...],
) -> Iterator[Checked]:
    from chainproof.policy import PolicyVerifier

    loader = stored_policies.loader(session, run.org_id, local_files=False)
    policies = {
        key: _server_side(contract.policies.get(key) or []) for key in ("materials", "attestation")
    }
    groups = _server_side(contract.policy_groups)
    # Load every attachment up front: one that cannot be loaded is a violation of its own,
    # and is left out so that the others still run.
    broken: list[Checked] = []
    for key in ("materials", "attestation"):
        kept = []
        for attachment in policies[key]:
            try:
                loader.policy(attachment)
                kept.append(attachment)
            except ChainproofError as err:
                name = _ref_name(attachment)
                failure = _failure(name, None, key.upper(), err.message, attachment.get("gate"))
                broken.append(Checked(failure, "server", _gate(failure.gate, strategy), required))
        policies[key] = kept
    kept_groups = []
    for attachment in groups:
        try:
            group, _ = loader.group(attachment)
            for member in (*[p for m in group.materials for p in m.policies], *group.attestation):
                loader.policy(member)
            kept_groups.append(attachment)
        except ChainproofError as err:
            name = _ref_name(attachment)
            failure = _failure(name, None, "GROUP", err.message, attachment.get("gate"))
            broken.append(Checked(failure, "server", _gate(failure.gate, strategy), required))
    verifier = PolicyVerifier(
        policies,
        kept_groups,
        loader=loader,
        engine=limits.engine,
        runtime_inputs=inputs,
        allowed_hosts=hosts,
    )
    yield from broken
    if not verifier.has_policies():
        return
    for item in materials:
        yield from _material(verifier, item, content, strategy, required, limits.slots)
    yield from _statement(verifier, statement, strategy, required, run)


def _ref_name(attachment: Mapping[str, Any]) -> str:
    embedded = attachment.get("embedded")
    if isinstance(embedded, Mapping):
        return str((embedded.get("metadata") or {}).get("name") or "embedded policy")
    ref = str(attachment.get("ref") or "?")
    return ref.rsplit("/", 1)[-1].split("@", 1)[0] or ref


def _material(
    verifier: PolicyVerifier,
    item: MaterialDescriptor,
    content: Content,
    strategy: str,
    required: bool,
    slots: threading.BoundedSemaphore,
) -> Iterator[Checked]:
    from chainproof.policy import PolicyEvaluation, material_input

    name, kind = item.name, item.kind
    bound = verifier.material_policies(name, kind)
    if not bound:
        return
    try:
        material, path = content.material(item)
    except ChainproofError as err:
        for b in bound:
            gate = b.attachment.get("gate", b.group_gate)
            failure = _failure(b.policy.name, name, kind, err.message, gate)
            yield Checked(failure, "server", _gate(gate, strategy), required)
        return
    if path is None and kind not in _OPAQUE:
        # skip_upload: only the digest was attested, so there is no content to judge.
        for b in bound:
            gate = b.attachment.get("gate", b.group_gate)
            skipped = PolicyEvaluation(
                name=b.policy.name,
                material_name=name,
                kind=kind,
                skipped=True,
                skip_reasons=("the control plane holds only this material's digest",),
                gate=gate,
            )
            yield Checked(skipped, "server", _gate(gate, strategy), required)
        return
    # The content, parsed and serialised, is held only while holding a slot: as many
    # materials as there are workers are in memory at once, however many pushes arrive.
    with slots:
        try:
            data = material_input(material, path)
        except ChainproofError as err:
            for b in bound:
                gate = b.attachment.get("gate", b.group_gate)
                failure = _failure(b.policy.name, name, kind, err.message, gate)
                yield Checked(failure, "server", _gate(gate, strategy), required)
            return
        from chainproof.policy.engine import canonical

        text = canonical(data)
        for b in bound:
            yield from _one(verifier, b, kind, data, text, name, strategy, required)


def _statement(
    verifier: PolicyVerifier,
    statement: Statement,
    strategy: str,
    required: bool,
    run: WorkflowRun,
) -> Iterator[Checked]:
    from chainproof.policy.engine import canonical

    # Every phase, on the signed statement: INIT-phase policies too, judged on what the
    # attestation finally says rather than on what the job reported at init.
    bound = verifier.statement_policies(None)
    if not bound:
        return
    data = statement.to_dict()
    # What only the control plane knows, beside the statement (never taken from it): the
    # CI identity it verified when the run started (runner-authenticated reads it).
    data["chainproof"] = {"ci_identity": run.ci_identity}
    text = canonical(data)
    for b in bound:
        yield from _one(verifier, b, ATTESTATION, data, text, None, strategy, required)


def _one(
    verifier: PolicyVerifier,
    bound: Any,
    kind: str,
    data: Mapping[str, Any],
    text: str,
    material: str | None,
    strategy: str,
    required: bool,
) -> Iterator[Checked]:
    started = time.perf_counter()
    try:
        found = verifier.evaluate_bound(bound, kind, data, material_name=material, text=text)
        metrics.observe_policy(time.perf_counter() - started, found, error=False)
    except ChainproofError as err:
        metrics.observe_policy(time.perf_counter() - started, None, error=True)
        gate = bound.attachment.get("gate", bound.group_gate)
        found = _failure(bound.policy.name, material, kind, err.message, gate)
    if found is not None:
        yield Checked(found, "server", _gate(found.gate, strategy), required)


# -- client-reported evaluations -----------------------------------------------------------
def _client_reported(raw: Any) -> list[PolicyEvaluation]:
    """The statement's evaluations of ``file://`` policies (the only ones taken from it)."""
    from chainproof.policy import PolicyEvaluation

    out: list[PolicyEvaluation] = []
    if not isinstance(raw, Mapping):
        return out
    for items in raw.values():
        for data in items if isinstance(items, list) else []:
            if not isinstance(data, Mapping):
                continue
            uri = str((data.get("policyReference") or {}).get("uri") or "")
            group_uri = str((data.get("groupReference") or {}).get("uri") or "")
            if uri.startswith("file://") or group_uri.startswith("file://"):
                try:
                    out.append(PolicyEvaluation.from_dict(data))
                except (KeyError, TypeError, ValueError):
                    continue
    return out


def _reported_for(
    contract: Contract, reported: Sequence[PolicyEvaluation]
) -> list[PolicyEvaluation]:
    """Client evaluations belong to a set when the set has ``file://`` attachments at all;
    the statement is signed, but the job wrote it: these are what the CLI said."""
    has_files = any(
        str(a.get("ref") or "").startswith("file://")
        for a in (
            *(contract.policies.get("materials") or []),
            *(contract.policies.get("attestation") or []),
            *contract.policy_groups,
        )
    )
    return list(reported) if has_files else []


# -- storage -------------------------------------------------------------------------------
def record(session: Session, run: WorkflowRun, verdict: Verdict) -> None:
    """Store every evaluation of the push, per run and material."""
    for position, c in enumerate(verdict.checked):
        e = c.evaluation
        session.add(
            PolicyEvaluationRow(
                position=position,
                run_id=run.id,
                org_id=run.org_id,
                material=e.material_name,
                policy=e.name,
                kind=e.kind,
                source=c.source,
                gate=c.gate,
                required=c.required,
                skipped=e.skipped,
                violations=[{"subject": v.subject, "message": v.message} for v in e.violations],
                evaluation=e.to_dict(),
            )
        )


def stored(session: Session, run_id: str) -> list[Checked]:
    """The evaluations recorded for a run, in the order they were made."""
    from chainproof.policy import PolicyEvaluation

    rows = session.scalars(
        select(PolicyEvaluationRow)
        .where(PolicyEvaluationRow.run_id == run_id)
        .order_by(PolicyEvaluationRow.position)
    )
    return [
        Checked(PolicyEvaluation.from_dict(r.evaluation), r.source, r.gate, r.required)
        for r in rows
    ]
