"""Where the crafting state of an open attestation lives: a local file, or the control plane.

The file lets ``init``, ``add`` and ``push`` run in different CI steps. It is
``chainproof-attestation.json`` in ``--state-dir`` / ``CHAINPROOF_STATE_DIR``, else in
``$RUNNER_TEMP`` (a directory per job). Else it is in the system temp dir, named after the CI
job (``chainproof-attestation-<runner>-<job id>.json``) so that concurrent jobs on one machine
never share an attestation; a developer's shell has the plain name.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient
    from chainproof.core.crafting import CraftingState

__all__ = [
    "STATE_FILE",
    "STATE_RETRIES",
    "STATE_VERSION",
    "LocalState",
    "RemoteState",
    "StateStore",
    "load_state",
    "now",
    "reset",
    "state_path",
    "store_for",
]

STATE_STEM = "chainproof-attestation"
STATE_FILE = f"{STATE_STEM}.json"
STATE_VERSION = 1
STATE_RETRIES = 8
"""Attempts at a compare-and-set write of the remote state before giving up."""


def state_path(state_dir: str | Path | None, environ: Mapping[str, str]) -> Path:
    """Where the crafting state lives (flag, then ``CHAINPROOF_STATE_DIR``, ``RUNNER_TEMP``,
    else a file per CI job in the temp dir).

    Raises InvalidInput (exit 2) in a recognised CI that names no job: concurrent jobs would
    share the file.
    """
    base = state_dir or environ.get("CHAINPROOF_STATE_DIR") or environ.get("RUNNER_TEMP")
    if base:
        return Path(base) / STATE_FILE
    from chainproof.core.runners import discover
    from chainproof.core.runners.jobs import job_key

    key = job_key(discover(environ).type, environ)
    name = f"{STATE_STEM}-{key}.json" if key else STATE_FILE
    return Path(tempfile.gettempdir()) / name


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


def store_for(where: Path | StateStore) -> StateStore:
    """``where`` as a store: a path is a local state file."""
    return LocalState(where) if isinstance(where, Path) else where


def now() -> datetime:
    return datetime.now(UTC)


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
    store = store_for(state_file)
    state, _ = store.load()
    run = api.reset_run(state.run_id, trigger, reason)
    store.discard()
    return run
