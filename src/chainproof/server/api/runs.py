"""``/api/v1/runs``: the attestation lifecycle (init, push, reset, read)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request
from pydantic import BaseModel, ConfigDict

from chainproof.cas.tokens import EMBEDDED
from chainproof.core.digest import Digest
from chainproof.server.api import problems
from chainproof.server.api.deps import PrincipalDep, SessionDep, SettingsDep
from chainproof.server.api.schemas import (
    Page,
    PushIn,
    PushOut,
    ResetIn,
    RunInit,
    RunInitOut,
    RunOut,
)
from chainproof.server.api.strict_json import StrictJsonRoute
from chainproof.server.db import Attestation
from chainproof.server.services import (
    after_push,
    enforcement,
    push,
    run_list,
    run_state,
    runs,
    slsa,
    versions,
)
from chainproof.server.support import pagination

router = APIRouter(route_class=StrictJsonRoute, prefix="/runs", tags=["runs"])


@router.post("", status_code=201, response_model=RunInitOut)
def init_run(
    body: RunInit, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Any:
    """Start a run (creating project and workflow on first use, if allowed)."""
    fields = body.model_dump()
    return runs.init(session, principal, expiry_seconds=settings.run_expiry_seconds, **fields)


@router.get("", response_model=Page)
def list_runs(
    session: SessionDep,
    principal: PrincipalDep,
    workflow: str | None = None,
    project: str | None = None,
    status: str | None = None,
    version: str | None = None,
    runner: str | None = Query(None, description="Runner type, e.g. GITHUB_ACTION."),
    policy: str | None = Query(None, description="Policy result: passed, violated, none."),
    since: datetime | None = Query(None, description="Created at or after (RFC 3339)."),
    until: datetime | None = Query(None, description="Created before (RFC 3339)."),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Any:
    """Runs, newest first, filtered; ``cursor`` is the previous page's ``next_cursor``
    (keyset: runs that arrive meanwhile never shift or repeat later pages)."""
    where = run_list.RunFilter(
        workflow=workflow,
        project=project,
        version=version,
        status=status,
        runner_type=runner,
        policy_result=policy,
        since=_utc(since),
        until=_utc(until),
    )
    rows, nxt = run_list.list_page(session, principal, limit=limit, cursor=cursor, where=where)
    return pagination.items(run_list.views(session, rows), nxt)


@router.get("/{run_id}", response_model=RunOut)
def get_run(run_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """One run with its materials; ``run_id`` may be a unique prefix of the id (4+
    characters; 400 ``ambiguous_id`` naming the candidates when several runs match)."""
    return runs.view(session, runs.get_run(session, principal, run_id), materials=True)


@router.post("/{run_id}/attestation", response_model=PushOut)
def push_attestation(
    run_id: str,
    body: PushIn,
    request: Request,
    tasks: BackgroundTasks,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> Any:
    """Verify the signed bundle, evaluate its policies, log it, store it and mark the run
    succeeded; the run, the stored bundle (with its transparency-log entry) and the policy
    evaluations. A gated violation blocks the run: it is stored with its evidence and the
    answer is a 422 ``policy_violation`` problem naming the violations."""
    source = request.app.state.cas_source

    def read_blob(backend_id: str | None, digest: Digest) -> Iterable[bytes]:
        target = source.target(principal.org_id, backend_id or EMBEDDED)
        chunks: Iterable[bytes] = target.backend.open(digest)
        return chunks

    pushed = push.push(
        session,
        principal,
        run_id,
        bundle=body.bundle,
        materials=body.materials,
        public_key=body.public_key,
        idempotency_key=idempotency_key,
        read_blob=read_blob,
        bypass_policy_check=body.bypass_policy_check,
        policy_limits=request.app.state.policy_limits,
        release=body.release,
    )
    # The push is recorded; its VSA and findings follow the answer (services/after_push.py).
    session.commit()
    run = pushed.run
    tasks.add_task(after_push.follow_up, request.app.state.sessions, run.id, run.workflow_id)
    if pushed.blocked:  # the blocked run and its evidence are kept; the answer is an error
        return problems.error_response(pushed.refusal())  # returned: raising drops the tasks
    return {
        **runs.view(session, pushed.run, materials=True, material_rows=pushed.materials),
        "bundle": pushed.bundle,
        "policy_evaluations": [c.to_dict() for c in pushed.policies],
        "project_version_release": versions.of_run(session, pushed.run) if body.release else None,
    }


@router.get("/{run_id}/policy-evaluations")
def get_policy_evaluations(run_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """The policy evaluations the control plane recorded at push, in order."""
    run = runs.get_run(session, principal, run_id)
    return {"items": [c.to_dict() for c in enforcement.stored(session, run.id)]}


@router.post("/{run_id}/reset", response_model=RunOut)
def reset_run(run_id: str, body: ResetIn, session: SessionDep, principal: PrincipalDep) -> Any:
    """Mark the run failed or cancelled."""
    return runs.view(session, runs.reset(session, principal, run_id, body.trigger, body.reason))


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: dict[str, Any]
    base_digest: str | None = None


@router.get("/{run_id}/state")
def get_state(run_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """The remote crafting state and its version digest."""
    state, digest = run_state.get(session, principal, run_id)
    return {"state": state, "digest": digest}


@router.put("/{run_id}/state")
def put_state(
    run_id: str,
    body: StateIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> Any:
    """Replace the crafting state if ``base_digest`` is still current (409 otherwise)."""
    digest = run_state.put(
        session,
        principal,
        run_id,
        body.state,
        body.base_digest,
    )
    return {"digest": digest}


@router.get("/{run_id}/bundle")
def get_bundle(run_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """The stored Sigstore bundle."""
    return json.loads(_attestation(session, principal, run_id).bundle)


@router.get("/{run_id}/statement")
def get_statement(run_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """The in-toto Statement (decoded DSSE payload)."""
    return _attestation(session, principal, run_id).statement


@router.get("/{run_id}/vsa")
def get_vsa(run_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """The signed SLSA verification summary (VSA v1) of a verified push (issued on this
    read if the push's follow-up has not issued it yet)."""
    return slsa.get_vsa(session, principal, run_id)


@router.get("/{run_id}/provenance")
def get_provenance(run_id: str, session: SessionDep, principal: PrincipalDep) -> Any:
    """The run as signed SLSA Provenance v1 (409 unless the run succeeded); signed, logged
    and timestamped on the first request, the same bundle after that."""
    return slsa.provenance(session, principal, run_id)


def _utc(value: datetime | None) -> datetime | None:
    """A query's time, UTC when it names no zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _attestation(session: Any, principal: Any, run_id: str) -> Attestation:
    return runs.get_attestation(session, principal, run_id)
