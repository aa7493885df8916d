"""The contract's policies, evaluated where the CLI crafts: on each material at ``add``, on
the attestation at ``init`` (phase INIT) and at ``push`` (phase PUSH).

Violations never stop the CLI: the control plane enforces gates at push.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chainproof.client.attestation.state import now

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient
    from chainproof.core.crafting import CraftingState
    from chainproof.core.materials.base import CraftedMaterial
    from chainproof.policy.runtime import RuntimeInputs

__all__ = [
    "attestation_policies",
    "check_policy_arguments",
    "init_policies",
    "material_policies",
    "verdict",
]


def check_policy_arguments(
    api: ApiClient, contract: Any, runtime_inputs: RuntimeInputs | None = None
) -> None:
    """PolicyError now, at init, when an attached policy cannot be loaded or lacks a required
    input, rather than at the first ``add`` it applies to; InvalidInput for a runtime input
    (``--policy-input``) that no attached policy declares."""
    if not (
        contract.policies.get("materials")
        or contract.policies.get("attestation")
        or contract.policy_groups
    ):
        if runtime_inputs:
            runtime_inputs.check({})
        return
    _verifier(api, contract, None, runtime_inputs).check_arguments()


def _verifier(
    api: ApiClient,
    contract: Any,
    notify: Callable[[str], None] | None,
    runtime_inputs: RuntimeInputs | None = None,
) -> Any:
    """A PolicyVerifier for ``contract`` whose bare names resolve to the organisation's
    stored policies (through the API) before the built-in ones, as the control plane's do,
    with the run's runtime inputs."""
    from chainproof.client.policies import policy_loader
    from chainproof.policy import PolicyVerifier

    return PolicyVerifier.for_contract(
        contract, loader=policy_loader(api), warn=notify, runtime_inputs=runtime_inputs
    )


def _verifier_for(
    api: ApiClient, state: CraftingState, notify: Callable[[str], None] | None
) -> Any:
    """The verifier for the state's contract, runtime inputs and allowed hosts."""
    from chainproof.policy.runtime import RuntimeInputs

    verifier = _verifier(api, state.contract, notify, RuntimeInputs.from_list(state.policy_inputs))
    verifier.allowed_hosts = tuple(state.allowed_hostnames)
    return verifier


def material_policies(
    api: ApiClient,
    state: CraftingState,
    crafted: list[CraftedMaterial],
    annotations: Mapping[str, str],
    notify: Callable[[str], None] | None,
) -> dict[str, list[dict[str, Any]]]:
    """Material name -> the JSON form of its policy evaluations ({} without policies)."""
    contract = state.contract
    if not (contract.policies.get("materials") or contract.policy_groups):
        return {}
    verifier = _verifier_for(api, state, notify)
    return {
        c.name: [
            e.to_dict()
            for e in verifier.verify_material(
                dataclasses.replace(c, annotations={**c.annotations, **annotations})
            )
        ]
        for c in crafted
    }


def init_policies(
    api: ApiClient, state: CraftingState, notify: Callable[[str], None] | None
) -> None:
    """Evaluate the attestation policies that ask for phase INIT (``attestation_phases``
    naming INIT) on the attestation as it stands at init; record and announce the results.

    Only an explicit INIT runs here: a policy without phases judges the finished attestation
    at push. Violations do not stop the init: the control plane decides at push.
    """
    contract = state.contract
    if not (contract.policies.get("attestation") or contract.policy_groups):
        return
    from chainproof import __version__
    from chainproof.core.statement import render_statement
    from chainproof.policy import ATTESTATION, ATTESTATION_KEY

    verifier = _verifier_for(api, state, notify)
    bound = [
        b for b in verifier.statement_policies("INIT") if "INIT" in b.policy.phases_for(ATTESTATION)
    ]
    if not bound:
        return
    statement = render_statement(state, finished_on=now(), cli_version=__version__)
    found = [verifier.evaluate_bound(b, ATTESTATION, statement) for b in bound]
    records = [e.to_dict() for e in found if e is not None]
    if not records:
        return
    state.policy_evaluations[ATTESTATION_KEY] = records
    if notify is not None:
        for record in records:
            notify(f"policy {record['name']} (INIT): {verdict(record)}")


def verdict(record: Mapping[str, Any]) -> str:
    """One line on a policy evaluation: passed, skipped (why) or its violations."""
    if record.get("skipped"):
        return "skipped (" + ("; ".join(record.get("skipReasons") or []) or "no reason") + ")"
    violations = record.get("violations") or []
    if not violations:
        return "passed"
    return f"{len(violations)} violation(s): " + "; ".join(v["message"] for v in violations)


def attestation_policies(api: ApiClient, state: CraftingState, statement: dict[str, Any]) -> None:
    """Evaluate the contract's attestation policies (phase PUSH) on the statement and add
    their results to its ``policyEvaluations`` (under ``CHAINPROOF.ATTESTATION``), after the
    INIT results of policies that do not run again at push."""
    contract = state.contract
    if not (contract.policies.get("attestation") or contract.policy_groups):
        return
    from chainproof.policy import ATTESTATION_KEY

    found = _verifier_for(api, state, None).verify_statement(statement, phase="PUSH")
    evaluations = statement["predicate"]["policyEvaluations"]
    pushed = {e.name for e in found}
    kept = [e for e in evaluations.get(ATTESTATION_KEY) or [] if e.get("name") not in pushed]
    merged = kept + [e.to_dict() for e in found]
    if merged:
        evaluations[ATTESTATION_KEY] = merged
