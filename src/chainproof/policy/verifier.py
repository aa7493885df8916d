"""Which policies a contract applies to a material or to the attestation, and their results.

Matching follows Chainloop (``pkg/policies``: ``shouldApplyPolicy``, ``requiredPoliciesFor
Material``, the group verifier):

* ``spec.policies.materials``: an attachment applies to a material when the policy's kinds
  include the material's kind, and its ``selector.name`` (if any) matches the material's name
  (``match_mode`` EXACT, the default, or PREFIX). A policy without kinds applies only through
  a selector. ``disabled: true`` attachments are left out.
* ``spec.policyGroups``: the group's arguments (``with``, checked against its ``inputs``)
  fill ``{{ inputs.x }}`` in its material names and in its policies' ``with`` values; a
  group material's policies apply to the material of that name when their kinds include its
  kind (or they have none). Policies named in the attachment's ``skip`` are left out.
* ``spec.policies.attestation`` and the groups' attestation policies run on the statement,
  at the phases their ATTESTATION scripts name (all phases when they name none).

One evaluation merges the policy's scripts for the kind: their violations are added, it is
skipped only when every script skipped, and a script whose result says ``ignore`` does not
count (a policy all of whose scripts ignore the input gives no evaluation at all).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.policy.arguments import apply_bindings, compute_arguments, input_arguments
from chainproof.policy.content import material_input
from chainproof.policy.document import ATTESTATION, GroupMaterial, Policy
from chainproof.policy.engine import RegoEngine, canonical, default_engine, prepare
from chainproof.policy.evaluation import PolicyEvaluation
from chainproof.policy.loader import PolicyLoader, Reference
from chainproof.policy.runtime import RuntimeInputs

if TYPE_CHECKING:
    from chainproof.core.contract import Contract
    from chainproof.core.materials.base import CraftedMaterial

__all__ = ["BoundPolicy", "PolicyVerifier"]


@dataclass(frozen=True)
class BoundPolicy:
    """An attachment with its policy loaded and, for a group's policy, the group's reference,
    its arguments (``bindings`` for ``{{ inputs.x }}``) and its attachment's ``gate``."""

    attachment: Mapping[str, Any]
    policy: Policy
    reference: Reference
    group: Reference | None = None
    bindings: dict[str, str] | None = None
    group_gate: bool | None = None


class PolicyVerifier:
    """Evaluates the policies of a contract's ``policies`` and ``policyGroups`` sections.

    ``runtime_inputs`` replace declared inputs (:mod:`~chainproof.policy.runtime`);
    ``allowed_hosts`` are the hosts ``http.send`` may reach (none: it is refused).
    Raises PolicyError when an attachment names a policy that cannot be loaded or lacks a
    required argument, PolicyEvaluationError when a policy cannot be evaluated (time limit,
    run-time error). ``warn`` receives notes such as arguments a policy does not declare.
    """

    def __init__(
        self,
        policies: Mapping[str, Any] | None = None,
        policy_groups: Sequence[Mapping[str, Any]] = (),
        *,
        loader: PolicyLoader | None = None,
        engine: RegoEngine | None = None,
        warn: Callable[[str], None] | None = None,
        runtime_inputs: RuntimeInputs | None = None,
        allowed_hosts: Collection[str] = (),
    ) -> None:
        self.policies = dict(policies or {})
        self.policy_groups = list(policy_groups)
        self.loader = loader or PolicyLoader()
        self._engine = engine
        self.warn = warn
        self.runtime_inputs = runtime_inputs or RuntimeInputs()
        self.allowed_hosts = tuple(allowed_hosts)

    @classmethod
    def for_contract(cls, contract: Contract, **kwargs: Any) -> PolicyVerifier:
        """A verifier for ``contract``'s attachments (keyword arguments as the constructor)."""
        return cls(contract.policies, contract.policy_groups, **kwargs)

    @property
    def engine(self) -> RegoEngine:
        """The engine evaluations run on (the process's shared one unless given)."""
        if self._engine is None:
            self._engine = default_engine()
        return self._engine

    def has_policies(self) -> bool:
        """Whether the contract attaches any policy or group at all."""
        return bool(
            self.policies.get("materials") or self.policies.get("attestation") or self.policy_groups
        )

    def check_arguments(self) -> None:
        """Load every attached policy and group and compute its ``with:`` arguments, as
        evaluation would: PolicyError for a policy that cannot be loaded or a required input
        without a value (what ``attestation init`` reports before any evidence is added);
        InvalidInput for a runtime input that no attached policy declares."""
        declared: dict[str, set[str]] = {}
        for key in ("materials", "attestation"):
            for attachment in self.policies.get(key) or []:
                if attachment.get("disabled"):
                    continue
                policy, _ = self.loader.policy(attachment)
                declared.setdefault(policy.name, set()).update(i.name for i in policy.inputs)
                with_args = self._with(policy, attachment, None)
                compute_arguments(policy.name, policy.inputs, with_args)
        for group_att, _, bindings, group in self._groups():
            skip = set(group_att.get("skip") or ())
            members = [*(a for m in group.materials for a in m.policies), *group.attestation]
            for attachment in members:
                if attachment.get("disabled"):
                    continue
                policy, _ = self.loader.policy(attachment)
                if policy.name not in skip:
                    declared.setdefault(policy.name, set()).update(i.name for i in policy.inputs)
                    with_args = self._with(policy, attachment, None)
                    compute_arguments(policy.name, policy.inputs, with_args, bindings=bindings)
        self.runtime_inputs.check(declared)

    def _with(
        self, policy: Policy, attachment: Mapping[str, Any], material: str | None
    ) -> dict[str, str] | None:
        """The attachment's ``with:`` with the runtime inputs for ``policy`` in place of the
        values it gives its declared inputs."""
        given = attachment.get("with")
        if not self.runtime_inputs:
            return dict(given) if given is not None else None
        names = {i.name for i in policy.inputs}
        return self.runtime_inputs.apply(policy.name, material, given or {}, names)

    # -- materials -------------------------------------------------------------------------
    def material_policies(self, name: str, kind: str) -> list[BoundPolicy]:
        """The attachments that apply to a material called ``name`` of ``kind``."""
        out: list[BoundPolicy] = []
        for attachment in self.policies.get("materials") or []:
            if attachment.get("disabled"):
                continue
            policy, ref = self.loader.policy(attachment)
            kinds = policy.kinds()
            selector = attachment.get("selector") or {}
            wanted = selector.get("name")
            if kinds and kind not in kinds:
                continue
            if wanted and not _selects(wanted, selector.get("match_mode"), name):
                continue
            if not kinds and not wanted:
                continue
            out.append(BoundPolicy(attachment, policy, ref))
        for group_att, group_ref, bindings, group in self._groups():
            skip = set(group_att.get("skip") or ())
            for material in group.materials:
                if not _group_selects(material, bindings, name, kind):
                    continue
                for attachment in material.policies:
                    if attachment.get("disabled"):
                        continue
                    policy, ref = self.loader.policy(attachment)
                    if policy.name in skip:
                        continue
                    kinds = policy.kinds()
                    if kinds and kind not in kinds:
                        continue
                    out.append(
                        BoundPolicy(
                            attachment, policy, ref, group_ref, bindings, group_att.get("gate")
                        )
                    )
        return out

    def verify_material(
        self, material: CraftedMaterial, *, path: Path | None = None
    ) -> list[PolicyEvaluation]:
        """Evaluate every policy that applies to ``material`` (content read from ``path``,
        default its crafted file); [] when none applies."""
        bound = self.material_policies(material.name, material.kind)
        if not bound:
            return []
        self.engine.start()  # the interpreter starts while the material is read
        content = material_input(material, path)
        text = canonical(content)
        out = []
        for b in bound:
            evaluation = self._evaluate(b, material.kind, content, text, material.name)
            if evaluation is not None:
                out.append(evaluation)
        return out

    # -- the attestation -------------------------------------------------------------------
    def statement_policies(self, phase: str | None = None) -> list[BoundPolicy]:
        """The attestation attachments to run at ``phase`` (INIT or PUSH; None: all)."""
        bound = [
            BoundPolicy(a, *self.loader.policy(a))
            for a in self.policies.get("attestation") or []
            if not a.get("disabled")
        ]
        for group_att, group_ref, bindings, group in self._groups():
            skip = set(group_att.get("skip") or ())
            for attachment in group.attestation:
                if attachment.get("disabled"):
                    continue
                policy, ref = self.loader.policy(attachment)
                if policy.name not in skip:
                    bound.append(
                        BoundPolicy(
                            attachment, policy, ref, group_ref, bindings, group_att.get("gate")
                        )
                    )
        return [
            b
            for b in bound
            if b.policy.scripts_for(ATTESTATION)
            and (phase is None or not (p := b.policy.phases_for(ATTESTATION)) or phase in p)
        ]

    def verify_statement(
        self, statement: Mapping[str, Any], *, phase: str | None = "PUSH"
    ) -> list[PolicyEvaluation]:
        """Evaluate the attestation policies for ``phase`` on an in-toto statement."""
        bound = self.statement_policies(phase)
        if not bound:
            return []
        content = dict(statement)
        text = canonical(content)
        out = []
        for b in bound:
            evaluation = self._evaluate(b, ATTESTATION, content, text, None)
            if evaluation is not None:
                out.append(evaluation)
        return out

    def evaluate_bound(
        self,
        bound: BoundPolicy,
        kind: str,
        content: Mapping[str, Any],
        *,
        material_name: str | None = None,
        text: str | None = None,
    ) -> PolicyEvaluation | None:
        """Evaluate one attachment found by :meth:`material_policies` or
        :meth:`statement_policies` (``text``: ``content`` already canonicalised), so a
        caller can handle each policy's errors on its own."""
        return self._evaluate(
            bound, kind, content, text if text is not None else canonical(content), material_name
        )

    # -- one policy ------------------------------------------------------------------------
    def evaluate(
        self,
        policy: Policy,
        kind: str,
        content: Mapping[str, Any],
        *,
        args: Mapping[str, str] | None = None,
        reference: Reference | None = None,
        material_name: str | None = None,
    ) -> PolicyEvaluation | None:
        """Evaluate one policy on evaluable content, as an attachment ``with: args`` would."""
        bound = BoundPolicy({"with": dict(args or {})}, policy, reference or _ref(policy))
        return self._evaluate(bound, kind, content, canonical(content), material_name)

    def _evaluate(
        self,
        bound: BoundPolicy,
        kind: str,
        content: Mapping[str, Any],
        text: str,
        material_name: str | None,
    ) -> PolicyEvaluation | None:
        policy, attachment = bound.policy, bound.attachment
        scripts = policy.scripts_for(kind)
        if not scripts:
            return None
        args = compute_arguments(
            policy.name,
            policy.inputs,
            self._with(policy, attachment, material_name),
            bindings=bound.bindings,
            warn=self.warn,
        )
        rego_args = input_arguments(args)
        results = [
            self.engine.evaluate(
                prepare(s, policy.name),
                content,
                rego_args,
                material_json=text,
                allowed_hosts=self.allowed_hosts,
            )
            for s in scripts
        ]
        kept = [r for r in results if not r.ignore]
        if not kept:
            return None
        skipped = all(r.skipped for r in kept)
        gate = attachment.get("gate")
        return PolicyEvaluation(
            name=policy.name,
            material_name=material_name,
            kind=kind,
            violations=tuple(v for r in kept for v in r.violations),
            skipped=skipped,
            skip_reasons=tuple(r.skip_reason for r in kept if r.skip_reason) if skipped else (),
            description=policy.description,
            annotations=dict(policy.annotations),
            args=dict(args),
            reference=bound.reference.to_dict(),
            group=bound.group.to_dict() if bound.group else None,
            requirements=tuple(attachment.get("requirements") or ()),
            gate=gate if gate is not None else bound.group_gate,
        )

    def _groups(self) -> Iterator[tuple[Mapping[str, Any], Reference, dict[str, str], Any]]:
        for attachment in self.policy_groups:
            group, ref = self.loader.group(attachment)
            bindings = compute_arguments(
                group.name, group.inputs, attachment.get("with"), warn=self.warn
            )
            yield attachment, ref, bindings, group


def _group_selects(
    material: GroupMaterial, bindings: Mapping[str, str], name: str, kind: str
) -> bool:
    """Whether a group's material entry is the material ``name`` of ``kind``: of its type (when
    it has one) and called its filled name (any name when that is empty)."""
    if material.kind is not None and material.kind != kind:
        return False
    wanted = apply_bindings(material.name, bindings).strip()
    return not wanted or wanted == name


def _selects(wanted: str, mode: str | None, name: str) -> bool:
    return name.startswith(wanted) if mode == "PREFIX" else name == wanted


def _ref(policy: Policy) -> Reference:
    return Reference(policy.name, None, policy.digest)
