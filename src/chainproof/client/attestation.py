"""The attestation use cases the CLI shells over: init, add, status, push, reset, verify.

The crafting state of an open attestation lives in one JSON file so that ``init``, ``add``
and ``push`` can run in different CI steps (docs/architecture.md §6). Its location:
``--state-dir`` / ``CHAINPROOF_STATE_DIR``, else ``$RUNNER_TEMP``, else the system temp dir;
the file is ``chainproof-attestation.json``.

Domain modules (materials, runners, crafting, statement, signing) are imported inside the
functions: they pull in cryptography and format validators the CLI must not load at start-up.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.errors import (
    ChainproofError,
    Conflict,
    ContractNotSatisfied,
    InvalidInput,
    MaterialError,
    NotFound,
    PolicyError,
    PolicyViolation,
    VerificationError,
)

if TYPE_CHECKING:
    from chainproof.client.cas import Progress
    from chainproof.client.http import ApiClient
    from chainproof.core.crafting import CraftingState
    from chainproof.core.materials.base import CraftedMaterial

__all__ = [
    "STATE_FILE",
    "add",
    "init",
    "push",
    "reset",
    "state_path",
    "status",
    "verify_run",
]

STATE_FILE = "chainproof-attestation.json"
STATE_VERSION = 1


def state_path(state_dir: str | Path | None, environ: Mapping[str, str]) -> Path:
    """Where the crafting state lives (flag, then ``CHAINPROOF_STATE_DIR``, ``RUNNER_TEMP``)."""
    base = (
        state_dir
        or environ.get("CHAINPROOF_STATE_DIR")
        or environ.get("RUNNER_TEMP")
        or tempfile.gettempdir()
    )
    return Path(base) / STATE_FILE


def load_state(path: Path) -> CraftingState:
    """The crafting state at ``path``; NotFound with the next step when there is none."""
    if not path.exists():
        raise NotFound(
            f"no attestation in progress (no state file at {path})",
            hint="run `chainproof attestation init` first, with the same --state-dir",
        )
    from chainproof.core.crafting import CraftingState

    return CraftingState.load(path)


class LocalState:
    """The crafting state in a file (the default): one CI machine, several steps."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> tuple[CraftingState, str | None]:
        return load_state(self.path), None

    def save(self, state: CraftingState, version: str | None) -> str | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state.save(self.path)
        return None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class RemoteState:
    """The crafting state kept by the control plane (``--remote-state``), for pipelines
    whose steps run on different machines; writes are compare-and-set on its digest."""

    def __init__(self, api: ApiClient, run_id: str) -> None:
        self.api = api
        self.run_id = run_id

    def load(self) -> tuple[CraftingState, str | None]:
        from chainproof.core.crafting import CraftingState

        answer = self.api.get_run_state(self.run_id)
        return CraftingState.from_dict(answer["state"]), str(answer["digest"])

    def save(self, state: CraftingState, version: str | None) -> str | None:
        return str(self.api.put_run_state(self.run_id, state.to_dict(), version)["digest"])

    def discard(self) -> None:
        """Nothing to do: the state goes with its run."""


StateStore = LocalState | RemoteState
STATE_RETRIES = 8


def _store(where: Path | StateStore) -> StateStore:
    return LocalState(where) if isinstance(where, Path) else where


def _now() -> datetime:
    return datetime.now(UTC)


# -- init ----------------------------------------------------------------------------------
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
    notify: Callable[[str], None] | None = None,
) -> CraftingState:
    """Start a run on the control plane and write the crafting state file.

    ``contract`` is a contract name or the path of a contract file (its text is sent). The
    runner is discovered from ``environ``; the contract's ``envAllowList`` values are recorded.
    Raises Conflict if a state file exists (unless ``replace``), ContractNotSatisfied if an
    allow-listed variable is unset (the run is then reset as failed), RunnerMismatch, and the
    API's errors. ``notify`` receives notices such as a newer contract revision.
    """
    if state_file.exists() and not replace and not remote:
        raise Conflict(
            f"an attestation is already in progress ({state_file})",
            hint="push or reset it first, or pass --replace to start over",
        )
    from chainproof.core.contract import Contract, parse_required_policies
    from chainproof.core.crafting import CraftingState
    from chainproof.core.git import head_info
    from chainproof.core.runners import collect_allowed_env, discover

    if state_file.exists() and not remote:
        _abandon(api, state_file)

    runner = discover(environ)
    contract_arg = contract
    if contract and Path(contract).is_file():
        text = Path(contract).read_text(encoding="utf-8")
        local = Contract.parse(text, source=contract)
        allowed = collect_allowed_env(environ, list(local.env_allow_list))
        runner = dataclasses.replace(runner, env={**runner.env, **allowed})
        contract_arg = text

    answer = _init_call(
        api, runner, environ, workflow, project, project_version, contract_arg, contract_revision
    )
    run, wf, info = answer["run"], answer["workflow"], answer["contract"]
    spec = Contract.from_dict(info["spec"])
    if answer.get("required_policies"):
        # The organisation's required policies run beside the contract's, here as on push.
        spec = spec.with_required(parse_required_policies(answer["required_policies"]))
    try:
        allowed = collect_allowed_env(environ, list(spec.env_allow_list))
    except ContractNotSatisfied as err:
        api.reset_run(run["id"], "failure", f"envAllowList not satisfied: {err.message}")
        raise
    runner = dataclasses.replace(runner, env={**runner.env, **allowed})
    try:
        _check_policy_arguments(api, spec)
    except PolicyError as err:
        api.reset_run(run["id"], "failure", f"policies cannot run: {err.message}")
        raise

    latest = info.get("latest_revision")
    if notify and latest and info.get("revision") and latest > info["revision"]:
        notify(
            f"contract {info['name']} has a newer revision {latest} "
            f"(this run uses revision {info['revision']})"
        )

    state = CraftingState(
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
        started_on=_now(),
        materials={},
        annotations={},
        git=head_info(cwd),
    )
    _collect_automatic(api, state, environ, notify)
    _init_policies(api, state, notify)
    store: StateStore = RemoteState(api, state.run_id) if remote else LocalState(state_file)
    store.save(state, None)
    return state


PR_INFO_MATERIAL = "pr-info"
"""Name of the PR_INFO material ``init`` adds when the contract has no PR_INFO slot."""


def _collect_automatic(
    api: ApiClient,
    state: CraftingState,
    environ: Mapping[str, str],
    notify: Callable[[str], None] | None,
) -> None:
    """Add the evidence the CLI gathers by itself: PR_INFO when the job runs for a pull or
    merge request, and every RUNNER_CONTEXT slot of the contract.

    A document that cannot be recorded (a slot whose annotations need values from the user)
    is left for ``attestation add`` with a notice; upload errors propagate.
    """
    from chainproof.client import cas
    from chainproof.core.materials import craft
    from chainproof.core.runners import context_document
    from chainproof.core.runners.pr_info import pull_request_info

    documents: list[tuple[str, str, dict[str, Any]]] = []
    pr = pull_request_info(environ)
    if pr is not None:
        slots = [m.name for m in state.contract.materials if m.kind == "PR_INFO"]
        documents.extend((name, "PR_INFO", pr) for name in slots or [PR_INFO_MATERIAL])
    context = context_document(state.runner, state.git)
    documents.extend(
        (m.name, "RUNNER_CONTEXT", context)
        for m in state.contract.materials
        if m.kind == "RUNNER_CONTEXT"
    )
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
        for held in _upload(api, cas, state.run_id, [m for m in recorded if m.upload_path], None):
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


# -- add -----------------------------------------------------------------------------------
def add(
    api: ApiClient,
    state_file: Path | StateStore,
    *,
    name: str | None,
    value: str,
    kind: str | None = None,
    annotations: Mapping[str, str] | None = None,
    progress: Callable[[int], Progress | None] | None = None,
    notify: Callable[[str], None] | None = None,
    policy_report: Callable[[str, list[dict[str, Any]]], None] | None = None,
) -> list[CraftedMaterial]:
    """Validate evidence, upload it to the CAS and record it; returns what was recorded.

    The kind comes from ``kind``, else the contract slot named ``name``. Without ``name``,
    the kind (unless given) is detected from the content and the material fills the first
    empty contract slot of that kind, else it is an extra material named after the file (or
    the kind). A ``name`` the contract lacks needs ``kind`` (so that a typo is an error).
    ``value`` may be an ``https://`` URL (downloaded first). An archive given for an SBOM or
    SARIF slot is exploded: one material per document (``name``, ``name-1``, ...), all
    validated before anything is uploaded or recorded. Files go to the CAS (skipped when it
    already has the digest, or the slot says ``skip_upload``). ``progress(total_bytes)`` may
    return a callback for each upload. The contract's material policies are evaluated
    before anything is uploaded; their results are recorded with the material and given to
    ``policy_report(name, evaluations)`` (violations do not stop the add; the control plane
    enforces gates at push). ``notify`` receives warnings (e.g. undeclared policy arguments).
    Raises MaterialError for invalid evidence, PolicyError/PolicyEvaluationError when a
    policy cannot be loaded or evaluated, and the API's errors; on any error the state is
    unchanged.
    """
    store = _store(state_file)
    state, version = store.load()
    from chainproof.client import cas
    from chainproof.client.fetch import download, is_url
    from chainproof.core.materials import craft, detect_kind
    from chainproof.core.materials.archive import ARCHIVE_KINDS, explode, is_archive

    with tempfile.TemporaryDirectory(prefix="chainproof-add-") as tmp:
        if is_url(value):
            value = str(download(value, Path(tmp)))
        if name is None:
            kind = kind or detect_kind(value)
            name = _automatic_name(state, kind, value)
        spec = state.spec_for(name)
        if spec is None and kind is None:
            # A typo in --name must not silently become an extra material.
            slots = ", ".join(m.name for m in state.contract.materials) or "none"
            raise InvalidInput(
                f"contract {state.contract_name} has no material named {name!r} (it has: {slots})",
                hint="use one of the contract's names; give --kind to add an extra material, "
                "or leave out --name to have the kind detected",
            )
        if spec is not None and kind and kind != spec.kind:
            raise InvalidInput(
                f"material {name} is a {spec.kind} in contract {state.contract_name}, not {kind}",
                hint="drop --kind to use the contract's kind",
            )
        wanted = kind or (spec.kind if spec else None)
        values = [value]
        if wanted in ARCHIVE_KINDS and Path(value).is_file() and is_archive(Path(value)):
            values = [str(p) for p in explode(Path(value), Path(tmp) / "entries")]
            if not values:
                raise MaterialError(f"{Path(value).name} holds no documents")
        crafted = [
            craft(name if i == 0 else f"{name}-{i}", v, wanted) for i, v in enumerate(values)
        ]
        if spec is not None and spec.output:
            crafted = [dataclasses.replace(c, output=True) for c in crafted]
        evaluations = _material_policies(api, state, crafted, annotations or {}, notify)
        if not (spec is not None and spec.skip_upload):
            crafted = _upload(api, cas, state.run_id, crafted, progress)
    for attempt in range(STATE_RETRIES):
        recorded = [state.add_material(c, annotations=dict(annotations or {})) for c in crafted]
        state.policy_evaluations.update({n: e for n, e in evaluations.items() if e})
        try:
            store.save(state, version)
            for name, found in evaluations.items():
                if found and policy_report is not None:
                    policy_report(name, found)
            return recorded
        except Conflict as err:
            # Another job of the same attestation wrote first: reload, apply again.
            if not err.details.get("stale") or attempt == STATE_RETRIES - 1:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311
            state, version = store.load()
    raise AssertionError("unreachable")


def _check_policy_arguments(api: ApiClient, contract: Any) -> None:
    """PolicyError now, at init, when an attached policy cannot be loaded or lacks a required
    input, rather than at the first ``add`` it applies to."""
    if not (
        contract.policies.get("materials")
        or contract.policies.get("attestation")
        or contract.policy_groups
    ):
        return
    _verifier(api, contract, None).check_arguments()


def _verifier(api: ApiClient, contract: Any, notify: Callable[[str], None] | None) -> Any:
    """A PolicyVerifier for ``contract`` whose bare names resolve to the organisation's
    stored policies (through the API) before the built-in ones, as the control plane's do."""
    from chainproof.client.policies import policy_loader
    from chainproof.policy import PolicyVerifier

    return PolicyVerifier.for_contract(contract, loader=policy_loader(api), warn=notify)


def _material_policies(
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
    verifier = _verifier(api, contract, notify)
    return {
        c.name: [
            e.to_dict()
            for e in verifier.verify_material(
                dataclasses.replace(c, annotations={**c.annotations, **annotations})
            )
        ]
        for c in crafted
    }


def _automatic_name(state: CraftingState, kind: str, value: str) -> str:
    """The first empty contract slot of ``kind``, else a free DNS-label name from the file."""
    for slot in state.contract.materials:
        if slot.kind == kind and slot.name not in state.materials:
            return slot.name
    path = Path(value)
    stem = path.name.split(".")[0] if kind not in ("STRING", "CONTAINER_IMAGE") else ""
    base = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:50] or kind.lower().replace(
        "_", "-"
    )
    taken = set(state.materials) | {m.name for m in state.contract.materials}
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _upload(
    api: ApiClient,
    cas: Any,
    run_id: str,
    crafted: list[CraftedMaterial],
    progress: Callable[[int], Progress | None] | None,
) -> list[CraftedMaterial]:
    """Send the files among ``crafted`` to the CAS; ``crafted``, with the files embedded
    instead when the organisation's upload target is an ``inline`` backend."""
    files = [c for c in crafted if c.upload_path]
    if not files:
        return crafted
    grant = api.cas_upload_token(run_id)
    backend = grant.get("backend") or {}
    max_size = backend.get("max_blob_size")
    if backend.get("provider") == "inline":
        return _embed(crafted, str(backend.get("name")), int(max_size or 0))
    for c in files:
        assert c.upload_path is not None
        callback = progress(c.size) if progress else None
        cas.upload(
            grant["url"],
            grant["token"],
            c.upload_path,
            c.digest,
            progress=callback,
            api=api,
            max_size=max_size,
        )
    return crafted


def _embed(crafted: list[CraftedMaterial], backend: str, cap: int) -> list[CraftedMaterial]:
    """The files among ``crafted`` with their bytes (base64) as ``content``, for an inline
    backend; TooLarge for any file over ``cap`` before anything is embedded."""
    from chainproof.errors import TooLarge

    for c in crafted:
        if c.upload_path is not None and c.size > cap:
            raise TooLarge(
                f"{c.filename or c.name} is {c.size} bytes: the organisation's CAS backend "
                f"{backend!r} is inline and embeds at most {cap} bytes in the attestation",
                hint="ask an admin to make a blob store the default (chainproof cas-backend "
                "add oci|s3|azure-blob|fs ... --default) or to raise the inline cap "
                f"(chainproof cas-backend update --name {backend} --max-size SIZE, at most 2MB)",
                max_blob_size=cap,
            )
    out = []
    for c in crafted:
        if c.upload_path is None:
            out.append(c)
            continue
        data = c.upload_path.read_bytes()
        if c.digest.algorithm != "sha256" or hashlib.sha256(data).hexdigest() != c.digest.hex:
            raise MaterialError(
                f"{c.upload_path} changed after it was validated",
                hint="add it again once nothing writes to it",
            )
        content = base64.b64encode(data).decode()
        out.append(dataclasses.replace(c, content=content, upload_path=None))
    return out


# -- status --------------------------------------------------------------------------------
def status(state: CraftingState) -> dict[str, Any]:
    """What the contract asks, what was added, what is still missing."""
    contract = state.contract
    slots = []
    for spec in contract.materials:
        got = state.materials.get(spec.name)
        slots.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "required": not spec.optional and spec.group is None,
                "group": spec.group,
                "output": spec.output,
                "added": got is not None,
                "digest": str(got.digest) if got else None,
            }
        )
    named = {s.name for s in contract.materials}
    extra = [
        {"name": m.name, "kind": m.kind, "digest": str(m.digest)}
        for m in state.materials.values()
        if m.name not in named
    ]
    annotations = [
        {
            "name": a.name,
            "value": state.annotations.get(a.name, a.value) or None,
            "required": not a.value,
        }
        for a in contract.annotations
    ]
    return {
        "run_id": state.run_id,
        "org": state.org,
        "server_url": state.server_url,
        "workflow": dict(state.workflow),
        "contract": {"name": state.contract_name, "revision": state.contract_revision},
        "runner": {"type": state.runner.type, "url": state.runner.url},
        "started_on": state.started_on.isoformat(),
        "materials": slots,
        "extra_materials": extra,
        "missing": list(state.missing()),
        "annotations": annotations,
    }


# -- push ----------------------------------------------------------------------------------
def push(
    api: ApiClient,
    state_file: Path | StateStore,
    *,
    key_path: Path | None = None,
    key_password: str | None = None,
    annotations: Mapping[str, str] | None = None,
    bundle_out: Path | None = None,
    bypass_policy_check: bool = False,
) -> dict[str, Any]:
    """Sign the attestation and send it; returns the Run the server recorded, with the
    control plane's ``policy_evaluations``.

    Checks the contract first: nothing is sent when it is not satisfied
    (ContractNotSatisfied). Keyless by default (an ephemeral key certified by the
    organisation's CA); ``key_path`` signs with a key file instead. On success the state file
    is deleted and the bundle the server stored (completed with its transparency-log entry)
    written to ``bundle_out`` if given. When a policy gate blocks the push the server keeps
    the run as ``blocked``: the state file is deleted too (the run is over) and
    PolicyViolation raised. ``bypass_policy_check`` asks to go through gated violations.
    """
    store = _store(state_file)
    state, _ = store.load()
    from chainproof import __version__
    from chainproof.core.bundle import Bundle
    from chainproof.core.statement import render_statement

    push_annotations = dict(annotations or {})
    state.check_complete(push_annotations)
    statement = render_statement(
        state, finished_on=_now(), cli_version=__version__, annotations=push_annotations
    )
    _attestation_policies(api, state, statement)
    public_key: str | None = None
    if key_path is not None:
        from chainproof.signing.signer import KeySigner

        password = key_password.encode() if key_password else None
        key_signer = KeySigner.from_pem(Path(key_path).read_bytes(), password)
        bundle = key_signer.sign(statement)
        pem = key_signer.public_key_pem
        public_key = pem.decode() if isinstance(pem, bytes) else str(pem)
    else:
        from chainproof.signing.ca import identity_uri
        from chainproof.signing.signer import EphemeralSigner

        signer = EphemeralSigner()
        uri = identity_uri(
            state.org, state.workflow["project"], state.workflow["name"], state.run_id
        )
        chain = api.signing_certificate(state.run_id, signer.csr(uri).decode())
        bundle = signer.sign(statement, [c.encode() for c in chain])

    materials = []
    for m in state.materials.values():
        data = m.to_dict()
        data.pop("upload_path", None)
        data.pop("content", None)  # the signed statement carries it already
        materials.append(data)
    key = hashlib.sha256(f"{state.run_id}:{bundle.digest()}".encode()).hexdigest()
    try:
        run = api.push_attestation(
            state.run_id,
            bundle=bundle.to_dict(),
            materials=materials,
            public_key=public_key,
            idempotency_key=f"push-{key}",
            bypass_policy_check=bypass_policy_check,
        )
    except PolicyViolation:
        store.discard()  # the server recorded the run as blocked: it takes no other push
        raise
    stored = run.pop("bundle", None)
    if bundle_out is not None:
        # The server's copy carries the log entry; an older server returns none.
        text = Bundle.from_json(stored).to_json() if stored else bundle.to_json()
        Path(bundle_out).write_text(text, encoding="utf-8")
    store.discard()
    return run


def violations(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The control plane's evaluations of a pushed run that found violations."""
    return [
        e
        for e in run.get("policy_evaluations") or []
        if e.get("violations") and not e.get("skipped")
    ]


def _init_policies(
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

    verifier = _verifier(api, contract, notify)
    bound = [
        b for b in verifier.statement_policies("INIT") if "INIT" in b.policy.phases_for(ATTESTATION)
    ]
    if not bound:
        return
    statement = render_statement(state, finished_on=_now(), cli_version=__version__)
    found = [verifier.evaluate_bound(b, ATTESTATION, statement) for b in bound]
    records = [e.to_dict() for e in found if e is not None]
    if not records:
        return
    state.policy_evaluations[ATTESTATION_KEY] = records
    if notify is not None:
        for record in records:
            notify(f"policy {record['name']} (INIT): {_verdict(record)}")


def _verdict(record: Mapping[str, Any]) -> str:
    if record.get("skipped"):
        return "skipped (" + ("; ".join(record.get("skipReasons") or []) or "no reason") + ")"
    violations = record.get("violations") or []
    if not violations:
        return "passed"
    return f"{len(violations)} violation(s): " + "; ".join(v["message"] for v in violations)


def _attestation_policies(api: ApiClient, state: CraftingState, statement: dict[str, Any]) -> None:
    """Evaluate the contract's attestation policies (phase PUSH) on the statement and add
    their results to its ``policyEvaluations`` (under ``CHAINPROOF.ATTESTATION``), after the
    INIT results of policies that do not run again at push."""
    contract = state.contract
    if not (contract.policies.get("attestation") or contract.policy_groups):
        return
    from chainproof.policy import ATTESTATION_KEY

    found = _verifier(api, contract, None).verify_statement(statement, phase="PUSH")
    evaluations = statement["predicate"]["policyEvaluations"]
    pushed = {e.name for e in found}
    kept = [e for e in evaluations.get(ATTESTATION_KEY) or [] if e.get("name") not in pushed]
    merged = kept + [e.to_dict() for e in found]
    if merged:
        evaluations[ATTESTATION_KEY] = merged


# -- reset ---------------------------------------------------------------------------------
def reset(
    api: ApiClient,
    state_file: Path | StateStore,
    *,
    trigger: str = "failure",
    reason: str | None = None,
) -> dict[str, Any]:
    """Mark the open run failed or cancelled, then delete the state file; returns the Run."""
    if trigger not in ("failure", "cancellation"):
        raise InvalidInput(
            f"unknown trigger {trigger!r}", hint="use --trigger failure or cancellation"
        )
    store = _store(state_file)
    state, _ = store.load()
    run = api.reset_run(state.run_id, trigger, reason)
    store.discard()
    return run


# -- verify --------------------------------------------------------------------------------
def verify_run(api: ApiClient, run_id: str) -> dict[str, Any]:
    """Verify a stored run locally against the organisation's trusted root.

    Checks the bundle's signature, certificate chain and identity (this run's URI) and that
    the statement's material digests equal the run's recorded materials. Returns
    ``{"verified", "run_id", "identity", "checks": [{"name","ok","detail"}]}``; a failed check
    is reported, not raised.
    """
    import json

    from chainproof.core.bundle import Bundle
    from chainproof.signing.ca import identity_uri
    from chainproof.signing.trust import TrustedRoot
    from chainproof.signing.verifier import AnyOf, ExactIdentity, KeyIdentity, Verifier

    run = api.get_run(run_id)
    org = api.whoami()["org"]["name"]
    uri = identity_uri(org, run["project"], run["workflow"], run["id"])
    checks: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "verified": False,
        "run_id": run["id"],
        "identity": uri,
        "checks": checks,
    }
    if run.get("status") != "succeeded" or not run.get("attestation_digest"):
        checks.append(
            {
                "name": "attestation",
                "ok": False,
                "detail": f"run is {run.get('status')}, no attestation stored",
            }
        )
        return report

    bundle = Bundle.from_json(json.dumps(api.get_run_bundle(run_id)))
    policy: Any = ExactIdentity(uri)
    # The whole root: its CAs, logs and timestamp authorities (a pushed bundle carries a log
    # entry and a timestamp, key-signed ones too).
    root = TrustedRoot.from_json(api.trust_root())
    if bundle.leaf_certificate_der is None:
        # Key-signed: trust exactly the keys the organisation registered.
        keys = [k["public_key"].encode() for k in api.list_signing_keys()]
        verifier = Verifier(trusted_root=root, public_keys=keys)
        policy = AnyOf(tuple(KeyIdentity.of_pem(k) for k in keys)) if keys else ExactIdentity(uri)
    else:
        verifier = Verifier(trusted_root=root)
    try:
        verified = verifier.verify(bundle, policy)
    except VerificationError as err:
        checks.append({"name": "signature", "ok": False, "detail": err.message})
        return report
    checks.append(
        {
            "name": "signature",
            "ok": True,
            "detail": f"signed by {verified.identity}, chain to the organisation CA",
        }
    )
    statement = _as_dict(verified.statement)
    checks.append(_check_materials(statement, run.get("materials") or []))
    report["verified"] = all(c["ok"] for c in checks)
    return report


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    raise VerificationError("the verified payload is not a statement")


def _descriptor_digest(desc: Mapping[str, Any]) -> str | None:
    digest = desc.get("digest")
    if isinstance(digest, str):
        return digest
    if isinstance(digest, Mapping) and digest:
        alg = "sha256" if "sha256" in digest else sorted(digest)[0]
        return f"{alg}:{digest[alg]}"
    return None


def _check_materials(
    statement: Mapping[str, Any], recorded: list[dict[str, Any]]
) -> dict[str, Any]:
    signed = {
        str(m.get("name")): _descriptor_digest(m)
        for m in (statement.get("predicate") or {}).get("materials") or []
    }
    stored = {str(m.get("name")): m.get("digest") for m in recorded}
    if signed == stored:
        return {
            "name": "materials",
            "ok": True,
            "detail": f"{len(signed)} material digest(s) match the signed statement",
        }
    diff = sorted(n for n in signed.keys() | stored.keys() if signed.get(n) != stored.get(n))
    return {
        "name": "materials",
        "ok": False,
        "detail": "recorded materials differ from the signed statement: " + ", ".join(diff),
    }
