"""``attestation init``: open a run on the control plane and write its crafting state."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.client.attestation.policies import check_policy_arguments, init_policies
from chainproof.client.attestation.state import (
    STATE_VERSION,
    LocalState,
    RemoteState,
    StateStore,
    load_state,
    now,
)
from chainproof.client.attestation.uploads import upload
from chainproof.errors import (
    ChainproofError,
    Conflict,
    ContractNotSatisfied,
    InvalidInput,
    MaterialError,
    PolicyError,
)

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient
    from chainproof.core.contract import Contract
    from chainproof.core.crafting import CraftingState
    from chainproof.core.runners.base import RunnerContext
    from chainproof.policy.runtime import RuntimeInput

__all__ = ["init"]


def init(
    api: ApiClient,
    *,
    state_file: Path,
    workflow: str,
    project: str,
    project_version: str | None = None,
    contract: str | None = None,
    contract_revision: int | None = None,
    environ: Mapping[str, str],
    cwd: Path,
    replace: bool = False,
    remote: bool = False,
    collectors: tuple[str, ...] = (),
    notify: Callable[[str], None] | None = None,
    on_notices: Callable[[dict[str, Any]], None] | None = None,
    policy_inputs: Sequence[RuntimeInput] = (),
    allowed_hostnames: Sequence[str] = (),
) -> CraftingState:
    """Start a run on the control plane and write the crafting state file.

    ``contract`` is a contract name or the path of a contract file (its text is sent). The
    runner is discovered from ``environ``; the contract's ``envAllowList`` values are recorded.
    Raises Conflict if a state file exists (unless ``replace``), ContractNotSatisfied if an
    allow-listed variable is unset (the run is then reset as failed), RunnerMismatch, and the
    API's errors. ``notify`` receives notices such as a newer contract revision, what the
    contract now requires that the workflow's last successful run's revision did not, and
    when a newer revision becomes required; ``on_notices`` gets the last two as data
    (``new_requirements``, ``deadline``). ``collectors`` (``aiconfig``) names evidence to
    gather from ``cwd`` besides what the contract's slots call for. ``policy_inputs``
    (``--policy-input``) replace declared inputs of the contract's policies for the whole run
    and are recorded in the state; one that no attached policy declares is InvalidInput (the
    run is reset as failed). ``allowed_hostnames`` add to the organisation's hosts that
    policies' ``http.send`` may reach where the CLI evaluates (the control plane uses the
    organisation's only).
    """
    if state_file.exists() and not replace and not remote:
        raise Conflict(
            f"an attestation is already in progress ({state_file})",
            hint="push or reset it first, or pass --replace to start over",
        )
    from chainproof.client.git import head_info
    from chainproof.core.runners import discover

    if state_file.exists() and not remote:
        _abandon(api, state_file)

    runner, contract_arg = _with_contract_file(discover(environ), contract, environ)
    answer = _init_call(
        api, runner, environ, workflow, project, project_version, contract_arg, contract_revision
    )
    run, info = answer["run"], answer["contract"]
    spec = _contract_of(answer)
    runner = _prepared(api, run["id"], runner, spec, environ, policy_inputs)
    _announce_newer_revision(info, notify)
    _announce_requirements(info, notify)
    if on_notices is not None:
        on_notices({k: info.get(k) for k in ("new_requirements", "deadline")})
    state = _new_state(api, answer, spec, runner, workflow, project, project_version)
    state.git = head_info(cwd)
    state.policy_inputs = [i.to_dict() for i in policy_inputs]
    state.allowed_hostnames = _hosts(answer, allowed_hostnames)
    _collect_automatic(api, state, environ, notify, cwd, collectors)
    init_policies(api, state, notify)
    store: StateStore = RemoteState(api, state.run_id) if remote else LocalState(state_file)
    store.save(state, None)
    return state


def _hosts(answer: Mapping[str, Any], given: Sequence[str]) -> list[str]:
    from chainproof.policy.network import parse_hostnames

    return parse_hostnames([*(answer.get("policies_allowed_hostnames") or []), *given])


def _with_contract_file(
    runner: RunnerContext, contract: str | None, environ: Mapping[str, str]
) -> tuple[RunnerContext, str | None]:
    """The runner with a contract file's allow-listed variables, and what to send as the
    contract: a file's text, else the name as given."""
    if not (contract and Path(contract).is_file()):
        return runner, contract
    from chainproof.core.contract import Contract
    from chainproof.core.runners import collect_allowed_env

    text = Path(contract).read_text(encoding="utf-8")
    local = Contract.parse(text, source=contract)
    allowed = collect_allowed_env(environ, list(local.env_allow_list))
    return dataclasses.replace(runner, env={**runner.env, **allowed}), text


def _contract_of(answer: Mapping[str, Any]) -> Contract:
    """The run's contract, with the organisation's required policies beside its own (they run
    here as on push)."""
    from chainproof.core.contract import Contract, parse_required_policies

    spec = Contract.from_dict(answer["contract"]["spec"])
    if answer.get("required_policies"):
        spec = spec.with_required(parse_required_policies(answer["required_policies"]))
    return spec


def _prepared(
    api: ApiClient,
    run_id: str,
    runner: RunnerContext,
    spec: Contract,
    environ: Mapping[str, str],
    policy_inputs: Sequence[RuntimeInput] = (),
) -> RunnerContext:
    """The runner with the contract's allow-listed variables, once the policies are known to
    load (and the runtime inputs to name their inputs); a run whose contract cannot be met
    here is reset as failed."""
    from chainproof.core.runners import collect_allowed_env
    from chainproof.policy.runtime import RuntimeInputs

    try:
        allowed = collect_allowed_env(environ, list(spec.env_allow_list))
    except ContractNotSatisfied as err:
        api.reset_run(run_id, "failure", f"envAllowList not satisfied: {err.message}")
        raise
    try:
        check_policy_arguments(api, spec, RuntimeInputs(tuple(policy_inputs)))
    except (PolicyError, InvalidInput) as err:
        api.reset_run(run_id, "failure", f"policies cannot run: {err.message}")
        raise
    return dataclasses.replace(runner, env={**runner.env, **allowed})


def _announce_newer_revision(info: Mapping[str, Any], notify: Callable[[str], None] | None) -> None:
    latest = info.get("latest_revision")
    if notify and latest and info.get("revision") and latest > info["revision"]:
        notify(
            f"contract {info['name']} has a newer revision {latest} "
            f"(this run uses revision {info['revision']})"
        )


def _announce_requirements(info: Mapping[str, Any], notify: Callable[[str], None] | None) -> None:
    """``new since revision 3: material "dockerfile" (ARTIFACT), ...`` and the deadline."""
    if notify is None:
        return
    from chainproof.core.contract_diff import Change, plain_words

    news = info.get("new_requirements")
    if news and news.get("changes"):
        since = f"revision {news.get('since_revision')}"
        if news.get("contract") not in (None, info.get("name")):
            since = f"contract {news['contract']} {since}"
        changes = [Change.from_dict(c) for c in news["changes"]]
        notify(f"new since {since}: {plain_words(changes)}")
    due = info.get("deadline")
    if due:
        notify(
            f"contract {info.get('name')} revision {due.get('revision')} becomes required on "
            f"{due.get('at')} (this run uses revision {info.get('revision')})"
        )


def _new_state(
    api: ApiClient,
    answer: Mapping[str, Any],
    spec: Contract,
    runner: RunnerContext,
    workflow: str,
    project: str,
    project_version: str | None,
) -> CraftingState:
    from chainproof.core.crafting import CraftingState

    run, wf, info = answer["run"], answer["workflow"], answer["contract"]
    return CraftingState(
        version=STATE_VERSION,
        server_url=api.base_url,
        org=answer["org"]["name"],
        run_id=run["id"],
        workflow={
            "id": wf.get("id"),
            "name": wf.get("name", workflow),
            "project": wf.get("project", project),
            "project_version": run.get("project_version", project_version),
            "team": wf.get("team"),
        },
        contract_name=info["name"],
        contract_revision=info["revision"],
        contract=spec,
        runner=runner,
        started_on=now(),
        materials={},
        annotations={},
    )


def _collect_automatic(
    api: ApiClient,
    state: CraftingState,
    environ: Mapping[str, str],
    notify: Callable[[str], None] | None,
    cwd: Path,
    collectors: tuple[str, ...] = (),
) -> None:
    """Add the evidence the CLI gathers by itself (``core.crafting_rules.automatic_documents``):
    with the AI agent configuration found under ``cwd`` when asked for or a slot needs it.

    A document that cannot be recorded (a slot whose annotations need values from the user)
    is left for ``attestation add`` with a notice; upload errors propagate.
    """
    from chainproof.core import ai_config
    from chainproof.core.crafting_rules import automatic_documents, wants_ai_config
    from chainproof.core.materials import craft
    from chainproof.core.runners import context_document
    from chainproof.core.runners.pr_info import pull_request_info

    context = context_document(state.runner, state.git)
    configs = None
    if wants_ai_config(state.contract, collectors):
        configs = ai_config.collect(cwd, state.git)
        if not configs and notify:
            notify(f"no AI agent configuration found under {cwd}")
    documents = automatic_documents(state.contract, pull_request_info(environ), context, configs)
    if not documents:
        return
    with tempfile.TemporaryDirectory(prefix="chainproof-init-") as tmp:
        crafted = []
        for name, kind, doc in documents:
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            crafted.append(craft(name, str(path), kind))
        recorded = []
        for material in crafted:
            try:
                recorded.append(state.add_material(material))
            except MaterialError as err:
                if notify:
                    notify(f"{material.kind} not added automatically: {err.message}")
        for held in upload(api, state.run_id, [m for m in recorded if m.upload_path], None):
            state.materials[held.name] = held  # embedded inline: no upload_path any more


def _init_call(
    api: ApiClient,
    runner: Any,
    environ: Mapping[str, str],
    workflow: str,
    project: str,
    project_version: str | None,
    contract: str | None,
    contract_revision: int | None,
) -> dict[str, Any]:
    """POST /runs; when the server names missing envAllowList variables that are set here,
    send them once more (the client cannot know a named contract's allow-list before init)."""
    kwargs: dict[str, Any] = {
        "workflow": workflow,
        "project": project,
        "project_version": project_version,
        "contract": contract,
        "contract_revision": contract_revision,
    }
    try:
        return api.init_run(runner=runner.to_dict(), **kwargs)
    except ContractNotSatisfied as err:
        # core.runners.collect_allowed_env names them in details["missing_env"]
        names = err.details.get("missing_env") or err.details.get("missing") or []
        extra = {n: environ[n] for n in names if isinstance(n, str) and n in environ}
        if not extra or len(extra) != len(names):
            raise
        env = {**runner.env, **extra}
        return api.init_run(runner={**runner.to_dict(), "env": env}, **kwargs)


def _abandon(api: ApiClient, state_file: Path) -> None:
    """Best effort: cancel the run of a state file being replaced, then forget it."""
    try:
        old = load_state(state_file)
        api.reset_run(old.run_id, "cancellation", "replaced by a new attestation init")
    except ChainproofError:
        pass
    state_file.unlink(missing_ok=True)
