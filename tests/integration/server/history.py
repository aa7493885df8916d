"""A scripted run history over the API: workflows on contracts with and without policies,
runs pushed (passing, violating, blocked), reset and expired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.helpers import GENERIC
from tests.integration.server.test_enforcement import BANNED_MIT, _contract, _statement, _upload

import chainproof.signing.ca as ca_mod
import chainproof.signing.signer as signer_mod
from chainproof.server.db.base import utcnow
from chainproof.server.jobs.expiry import expire_once

PLAIN = _contract()
ADVISORY = _contract(materials=BANNED_MIT % "")
GATED = _contract(materials=BANNED_MIT % ", gate: true")


def workflow(env: Env, project: str, name: str, raw: str, team: str | None = None) -> None:
    """Contract ``<project>-<name>`` and the workflow on it (project created on first use)."""
    contract = f"{project}-{name}"
    assert env.post("/contracts", {"name": contract, "raw": raw}).status_code == 201
    body = {"name": name, "project": project, "contract": contract, "team": team}
    reply = env.post("/workflows", body)
    assert reply.status_code == 201, reply.text


def init(env: Env, project: str, name: str, **extra: Any) -> dict[str, Any]:
    body = {"workflow": name, "project": project, "runner": GENERIC, **extra}
    reply = env.post("/runs", body)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def push(env: Env, started: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Upload, sign and push the SBOM run (``extra``: more fields of the push body); the run
    as the server then holds it."""
    reply = send(env, started, **extra)
    assert reply.status_code in (200, 422), reply.text
    return dict(env.get(f"/runs/{started['run']['id']}").json())


def send(env: Env, started: dict[str, Any], **extra: Any) -> Any:
    """Upload, sign and push the SBOM run; the server's reply as it is."""
    run_id = started["run"]["id"]
    _upload(env, run_id)
    wf = started["workflow"]
    signer = signer_mod.EphemeralSigner()
    uri = ca_mod.identity_uri(env.org["name"], wf["project"], wf["name"], run_id)
    reply = env.post("/signing/certificates", {"run_id": run_id, "csr": signer.csr(uri).decode()})
    assert reply.status_code == 200, reply.text
    chain = [c.encode() for c in reply.json()["chain"]]
    bundle = signer.sign(_statement(env, started), chain).to_dict()
    return env.post(f"/runs/{run_id}/attestation", {"bundle": bundle, **extra})


def run(env: Env, project: str, name: str, outcome: str, **extra: Any) -> dict[str, Any]:
    """One run to ``outcome``: pushed, failed, cancelled, expired or initialized."""
    started = init(env, project, name, **extra)
    run_id = started["run"]["id"]
    if outcome == "pushed":
        return push(env, started)
    if outcome in ("failed", "cancelled"):
        trigger = "failure" if outcome == "failed" else "cancellation"
        reply = env.post(f"/runs/{run_id}/reset", {"trigger": trigger})
        assert reply.status_code == 200, reply.text
    if outcome == "expired":
        assert expire_once(env.sessions, utcnow() + timedelta(days=2)) >= 1
    return dict(env.get(f"/runs/{run_id}").json())
