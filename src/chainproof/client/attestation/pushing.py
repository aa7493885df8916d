"""``attestation push``: check the contract, sign the attestation and send it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.client.attestation.policies import attestation_policies
from chainproof.client.attestation.state import StateStore, now, store_for
from chainproof.errors import PolicyViolation

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
    store = store_for(state_file)
    state, _ = store.load()
    from chainproof import __version__
    from chainproof.core.bundle import Bundle
    from chainproof.core.statement import render_statement

    push_annotations = dict(annotations or {})
    state.check_complete(push_annotations)
    statement = render_statement(
        state, finished_on=now(), cli_version=__version__, annotations=push_annotations
    )
    attestation_policies(api, state, statement)
    bundle, public_key = _sign(api, state, statement, key_path, key_password)
    materials = _recorded_materials(state)
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
