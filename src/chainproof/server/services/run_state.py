"""Remote crafting state (``attestation init --remote-state``): encrypted, versioned.

Pipelines whose init, add and push run in different jobs or machines keep the crafting state
here instead of in a local file. It is encrypted at rest with AES-256-GCM under a key derived
(HKDF-SHA256) from the server's secret key, bound to its run id as associated data, and
versioned by the SHA-256 of its plaintext: a write names the version it was based on and is
refused (Conflict) if another writer got there first, so concurrent matrix jobs never lose a
material; the client reloads and retries.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chainproof.errors import Conflict, NotFound
from chainproof.server.db import RunState
from chainproof.server.db.base import utcnow
from chainproof.server.services import runs
from chainproof.server.support import sealed
from chainproof.server.support.principal import Principal

MAX_STATE_BYTES = 4 * 1024 * 1024
_PURPOSE = b"chainproof crafting state v1"


def get(session: Session, actor: Principal, run_id: str) -> tuple[dict[str, Any], str]:
    """The run's state and its version digest; NotFound if it has none."""
    run = runs.get_run_for_attest(session, actor, run_id)
    row = session.scalar(select(RunState).where(RunState.run_id == run.id))
    if row is None:
        raise NotFound(
            f"run {run.id} keeps no remote state",
            hint="start it with `attestation init --remote-state`",
        )
    plain = sealed.unseal(
        sealed.server_secret(session), _PURPOSE, row.ciphertext, run.id, "attestation state"
    )
    return json.loads(plain), row.digest


def put(
    session: Session,
    actor: Principal,
    run_id: str,
    state: dict[str, Any],
    base_digest: str | None,
) -> str:
    """Store a new version if ``base_digest`` is still the current one; return its digest."""
    run = runs.get_run_for_attest(session, actor, run_id)
    if run.status != "initialized":
        raise Conflict(f"run {run.id} is {run.status}: its state can no longer change")
    plain = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    if len(plain) > MAX_STATE_BYTES:
        raise Conflict(f"the attestation state is larger than {MAX_STATE_BYTES} bytes")
    digest = "sha256:" + hashlib.sha256(plain).hexdigest()
    blob = sealed.seal(sealed.server_secret(session), _PURPOSE, plain, run.id)
    if base_digest is None:
        exists = session.scalar(select(RunState.id).where(RunState.run_id == run.id))
        if exists is not None:
            raise _stale(run.id)
        session.add(RunState(run_id=run.id, ciphertext=blob, digest=digest))
        session.flush()
        return digest
    # Compare-and-set in one statement: atomic on SQLite and PostgreSQL alike.
    result = session.execute(
        update(RunState)
        .where(RunState.run_id == run.id, RunState.digest == base_digest)
        .values(ciphertext=blob, digest=digest, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _stale(run.id)
    return digest


def _stale(run_id: str) -> Conflict:
    return Conflict(
        f"the attestation state of run {run_id} changed since it was read",
        hint="reload and apply the change again (the CLI does this by itself)",
        stale=True,
    )
