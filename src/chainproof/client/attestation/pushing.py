"""``attestation push``: check the contract, sign the attestation and send it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.client.attestation.policies import attestation_policies
from chainproof.client.attestation.state import StateStore, now, store_for
from chainproof.errors import Blocked, InvalidInput, PolicyViolation, VerificationError

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient
    from chainproof.core.bundle import Bundle
    from chainproof.core.crafting import CraftingState

__all__ = ["push"]


def push(
    api: ApiClient,
    state_file: Path | StateStore,
    *,
    key_path: Path | None = None,
    key_password: str | None = None,
    annotations: Mapping[str, str] | None = None,
    bundle_out: Path | None = None,
    bypass_policy_check: bool = False,
    notify: Callable[[str], None] | None = None,
    release: bool = False,
) -> dict[str, Any]:
    """Sign the attestation and send it; returns the Run the server recorded, with the
    control plane's ``policy_evaluations``.

    Checks the contract first: nothing is sent when it is not satisfied
    (ContractNotSatisfied). Keyless by default (an ephemeral key certified by the
    organisation's CA); ``key_path`` signs with a key file instead. The signed bundle and its
    idempotency key are saved in the state before anything is sent: a push interrupted after
    that (its answer lost, the job killed) is finished by running push again, which resends
    exactly that bundle, and the server answers with what it stored the first time (the same
    run, the same bundle); ``notify`` is told. On success the state file is deleted and the
    bundle the server stored (completed with its transparency-log entry) written to
    ``bundle_out`` if given. When a policy gate blocks the push the server keeps the run as
    ``blocked``: the state file is deleted too (the run is over) and PolicyViolation raised;
    likewise when the workflow was blocked meanwhile (the run is failed; Blocked raised).
    ``bypass_policy_check`` asks to go through gated violations. ``release`` releases the
    run's project version once the push succeeded (InvalidInput, before anything is signed,
    when the run has none).
    """
    store = store_for(state_file)
    state, version = store.load()
    if release and not state.workflow.get("project_version"):
        raise InvalidInput(
            f"run {state.run_id} has no project version to release",
            hint="start the run with `attestation init --version V` to release V",
        )
    signing = Signing(key_path, key_password, dict(annotations or {}))
    resent = state.pending_push is not None
    if resent:
        if notify is not None:
            notify(f"resending the attestation of run {state.run_id} an earlier push signed")
    else:
        version = _sign_and_keep(api, store, state, version, signing)
    try:
        run = _send(api, store, state, bypass_policy_check, release)
    except VerificationError:
        if not resent:
            raise
        # The server never stored the earlier bundle (a stored one is answered as it is), and
        # now refuses it: its short-lived certificate may have expired. Sign anew, once.
        state.pending_push = None
        _sign_and_keep(api, store, state, version, signing)
        run = _send(api, store, state, bypass_policy_check, release)
    stored = run.pop("bundle", None)
    if bundle_out is not None:
        from chainproof.core.bundle import Bundle

        # The server's copy carries the log entry; an older server returns none.
        sent = (state.pending_push or {})["bundle"]
        Path(bundle_out).write_text(Bundle.from_json(stored or sent).to_json(), encoding="utf-8")
    store.discard()
    return run


@dataclass(frozen=True)
class Signing:
    """How ``push`` signs: a key file (and its password) or keyless, and the annotations
    given at push."""

    key_path: Path | None
    key_password: str | None
    annotations: dict[str, str]


def _sign_and_keep(
    api: ApiClient,
    store: StateStore,
    state: CraftingState,
    version: str | None,
    signing: Signing,
) -> str | None:
    """Check the contract, render and sign the statement, and save the signed bundle with
    its idempotency key in the state (atomically) before it is sent; the state's version."""
    from chainproof import __version__
    from chainproof.core.statement import render_statement

    state.check_complete(signing.annotations)
    statement = render_statement(
        state, finished_on=now(), cli_version=__version__, annotations=signing.annotations
    )
    attestation_policies(api, state, statement)
    bundle, public_key = _sign(api, state, statement, signing.key_path, signing.key_password)
    key = hashlib.sha256(f"{state.run_id}:{bundle.digest()}".encode()).hexdigest()
    state.pending_push = {
        "bundle": bundle.to_dict(),
        "idempotency_key": f"push-{key}",
        "public_key": public_key,
        "materials": _recorded_materials(state),
    }
    return store.save(state, version)


def _send(
    api: ApiClient,
    store: StateStore,
    state: CraftingState,
    bypass_policy_check: bool,
    release: bool = False,
) -> dict[str, Any]:
    """Send the state's pending push; a blocked run's state is discarded (it is over)."""
    pending = state.pending_push
    assert pending is not None
    try:
        return api.push_attestation(
            state.run_id,
            bundle=pending["bundle"],
            materials=pending["materials"],
            public_key=pending["public_key"],
            idempotency_key=pending["idempotency_key"],
            bypass_policy_check=bypass_policy_check,
            release=release,
        )
    except (PolicyViolation, Blocked):
        # The server recorded the run as blocked by policy, or failed it as its workflow is
        # blocked: it takes no other push.
        store.discard()
        raise


def _sign(
    api: ApiClient,
    state: CraftingState,
    statement: dict[str, Any],
    key_path: Path | None,
    key_password: str | None,
) -> tuple[Bundle, str | None]:
    """The signed bundle, and the PEM public key when a key file signed it (keyless: an
    ephemeral key the organisation's CA certifies for this run's identity)."""
    if key_path is not None:
        from chainproof.signing.signer import KeySigner

        password = key_password.encode() if key_password else None
        key_signer = KeySigner.from_pem(Path(key_path).read_bytes(), password)
        pem = key_signer.public_key_pem
        return key_signer.sign(statement), pem.decode() if isinstance(pem, bytes) else str(pem)
    from chainproof.signing.ca import identity_uri
    from chainproof.signing.signer import EphemeralSigner

    signer = EphemeralSigner()
    uri = identity_uri(state.org, state.workflow["project"], state.workflow["name"], state.run_id)
    chain = api.signing_certificate(state.run_id, signer.csr(uri).decode())
    return signer.sign(statement, [c.encode() for c in chain]), None


def _recorded_materials(state: CraftingState) -> list[dict[str, Any]]:
    """The materials as the run records them: no local path, no inline content (the signed
    statement carries it already)."""
    materials = []
    for m in state.materials.values():
        data = m.to_dict()
        data.pop("upload_path", None)
        data.pop("content", None)
        materials.append(data)
    return materials
