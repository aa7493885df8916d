"""Reads take a unique run id prefix, only ever within the caller's organisation and scope."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import update
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow

from chainproof.server.db import WorkflowRun


def _run_with_prefix(env: Env, prefix: str, token: str | None = None, **kw: str) -> str:
    """A run of ``env`` whose id starts with ``prefix`` (hex, up to 8 characters)."""
    old = init_run(env, token=token, **kw).json()["run"]["id"]
    new = str(uuid.UUID(prefix + uuid.uuid4().hex[len(prefix) :]))
    with env.sessions.begin() as session:
        session.execute(update(WorkflowRun).where(WorkflowRun.id == old).values(id=new))
    return new


def test_a_unique_prefix_finds_the_run_on_every_read(app_client: Env) -> None:
    setup_workflow(app_client)
    base = secrets.token_hex(3)
    run_id = _run_with_prefix(app_client, base + "a")
    _run_with_prefix(app_client, base + "b")
    for prefix in (base + "a", (base + "a").upper(), run_id[:13]):
        reply = app_client.get(f"/runs/{prefix}")
        assert reply.status_code == 200, reply.text
        assert reply.json()["id"] == run_id
    evaluations = app_client.get(f"/runs/{base}a/policy-evaluations")
    assert evaluations.status_code == 200 and evaluations.json() == {"items": []}
    # The run has no attestation yet: the prefix resolves, then the read says so.
    bundle = app_client.get(f"/runs/{base}a/bundle")
    assert bundle.status_code == 404 and run_id in bundle.json()["detail"]


def test_an_ambiguous_prefix_names_the_candidates(app_client: Env) -> None:
    setup_workflow(app_client)
    base = secrets.token_hex(3)
    first = _run_with_prefix(app_client, base + "c1")
    second = _run_with_prefix(app_client, base + "c2")
    reply = app_client.get(f"/runs/{base}c")
    assert reply.status_code == 400
    problem = reply.json()
    assert problem["code"] == "ambiguous_id"
    assert problem["details"]["candidates"] == sorted([first, second])
    assert first in problem["detail"] and second in problem["detail"]


def test_no_match_short_prefix_and_non_hex(app_client: Env) -> None:
    setup_workflow(app_client)
    base = secrets.token_hex(3)
    _run_with_prefix(app_client, base + "d")
    missing = app_client.get(f"/runs/{base}e")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    short = app_client.get(f"/runs/{base[:3]}")
    assert short.status_code == 400 and short.json()["code"] == "invalid_input"
    assert "at least 4" in short.json()["hint"]
    assert app_client.get("/runs/nope").status_code == 404


def test_other_organisations_runs_are_never_found_nor_named(app_client: Env) -> None:
    other = app_client.new_org()
    setup_workflow(app_client)
    setup_workflow(other)
    base = secrets.token_hex(3)
    mine = _run_with_prefix(app_client, base + "1")
    theirs = _run_with_prefix(other, base + "2")
    # Both orgs hold a run under ``base``: each sees only its own, never an ambiguity.
    assert app_client.get(f"/runs/{base}").json()["id"] == mine
    assert other.get(f"/runs/{base}").json()["id"] == theirs
    hidden = app_client.get(f"/runs/{base}2")
    assert hidden.status_code == 404 and theirs not in hidden.text
    assert app_client.get(f"/runs/{theirs}").status_code == 404


def test_a_robots_scope_bounds_the_prefix(app_client: Env) -> None:
    setup_workflow(app_client, project="p")
    setup_workflow(app_client, project="q")
    scoped = app_client.robot("scoped", project="p")
    base = secrets.token_hex(3)
    in_scope = _run_with_prefix(app_client, base + "1", project="p")
    out_of_scope = _run_with_prefix(app_client, base + "2", project="q")
    assert app_client.get(f"/runs/{base}").json()["code"] == "ambiguous_id"
    reply = app_client.get(f"/runs/{base}", token=scoped)
    assert reply.status_code == 200 and reply.json()["id"] == in_scope
    assert out_of_scope not in reply.text
    assert app_client.get(f"/runs/{base}2", token=scoped).status_code == 404


def test_changes_want_the_full_id(app_client: Env) -> None:
    setup_workflow(app_client)
    base = secrets.token_hex(3)
    run_id = _run_with_prefix(app_client, base + "f")
    by_prefix = app_client.post(f"/runs/{base}f/reset", {"trigger": "failure"})
    assert by_prefix.status_code == 404 and "full id" in by_prefix.json()["hint"]
    assert app_client.get(f"/runs/{run_id}").json()["status"] == "initialized"
    full = app_client.post(f"/runs/{run_id.upper()}/reset", {"trigger": "failure"})
    assert full.status_code == 200 and full.json()["status"] == "failed"
