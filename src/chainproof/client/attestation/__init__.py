"""The attestation use cases the CLI shells over: init, add, status, push, reset.

One module per step: :mod:`.state` (where the crafting state lives, reset), :mod:`.opening`
(init), :mod:`.adding` (add), :mod:`.pushing` (push), :mod:`.summary` (status), with
:mod:`.policies` and :mod:`.uploads` beside them. The rules of crafting (slot choice,
automatic names, kind checks) are pure and live in :mod:`chainproof.core.crafting_rules`;
verifying a stored run is :mod:`chainproof.client.verify_run`.

Domain modules (materials, runners, crafting, statement, signing) are imported inside the
functions: they pull in cryptography and format validators the CLI must not load at start-up.
"""

from __future__ import annotations

from chainproof.client.attestation.adding import add
from chainproof.client.attestation.opening import init
from chainproof.client.attestation.pushing import push
from chainproof.client.attestation.state import (
    STATE_FILE,
    STATE_VERSION,
    LocalState,
    RemoteState,
    StateStore,
    load_state,
    reset,
    state_path,
)
from chainproof.client.attestation.summary import status, violations
from chainproof.client.verify_run import verify_run

__all__ = [
    "STATE_FILE",
    "STATE_VERSION",
    "LocalState",
    "RemoteState",
    "StateStore",
    "add",
    "init",
    "load_state",
    "push",
    "reset",
    "state_path",
    "status",
    "verify_run",
    "violations",
]
