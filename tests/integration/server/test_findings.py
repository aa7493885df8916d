"""Drift findings over a scripted history: weeks of runs made through the services with an
injected clock open each finding kind, and close it when its cause goes away."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tests.integration.conftest import Env

import chainproof.core.statement as statement_mod
import chainproof.signing.ca as ca_mod
import chainproof.signing.signer as signer_mod
from chainproof.core.drift import DriftSettings
from chainproof.server.db import AuditEvent, Finding, Workflow
from chainproof.server.db.base import utcnow
from chainproof.server.jobs.findings import reconcile_once
from chainproof.server.services import (
    after_push,
    contracts,
    drift,
    findings,
    push,
    runs,
    signing,
    tokens,
    workflows,
)
from chainproof.server.support.principal import Principal

GHA = {"type": "GITHUB_ACTION", "url": None, "env": {}, "environment": "managed"}
SELF_HOSTED = {**GHA, "environment": "self-hosted"}
GENERIC = {"type": "GENERIC", "url": None, "env": {}}
CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: drift}
spec:
  materials:
    - {type: STRING, name: version}
    - {type: ARTIFACT, name: binary, optional: true}
  policies:
    attestation:
      - {ref: required-annotations, with: {names: ticket}}
"""
FULL = {"kinds": ("STRING", "ARTIFACT"), "annotations": {"ticket": "OPS-1"}}


class Script:
    """One workflow's life, told through the services at a clock the test moves."""

    def __init__(self, env: Env, workflow: str = "build") -> None:
        self.env, self.workflow = env, workflow
        self.now = utcnow().replace(microsecond=0)

    def tick(self, days: float = 1) -> None:
        self.now += timedelta(days=days)

    def actor(self, session: Any) -> Principal:
        return tokens.authenticate(session, self.env.token, now=self.now)

    def init(self, runner: dict[str, Any] = GHA, workflow: str | None = None) -> dict[str, Any]:
        with self.env.sessions.begin() as session:
            return runs.init(
                session,
                self.actor(session),
                workflow=workflow or self.workflow,
                project="p",
                runner=runner,
                now=self.now,
            )

    def succeed(self, runner: dict[str, Any] = GHA, kinds: tuple[str, ...] = (), **kw: Any) -> str:
        """A run that pushes STRING/ARTIFACT materials and ``annotations``."""
        started = self.init(runner)
        run_id = str(started["run"]["id"])
        with self.env.sessions.begin() as session:
            actor = self.actor(session)
            bundle = _signed(session, actor, started, kinds, kw.get("annotations") or {})
            pushed = push.push(session, actor, run_id, bundle=bundle, now=self.now)
            assert pushed.run.status == "succeeded"
        # What the route runs once the push is answered: the VSA, then the findings.
        after_push.follow_up(self.env.sessions, run_id, pushed.run.workflow_id, now=self.now)
        return run_id

    def fail(self) -> str:
        run_id = str(self.init()["run"]["id"])
        with self.env.sessions.begin() as session:
            runs.reset(session, self.actor(session), run_id, "failure", now=self.now)
        return run_id

    def expire(self) -> str:
        run_id = str(self.init()["run"]["id"])
        with self.env.sessions.begin() as session:
            assert runs.expire_runs(session, now=self.now + timedelta(hours=2)) >= 1
        return run_id

    def job(self) -> None:
        reconcile_once(self.env.sessions, now=self.now)

    def open(self, workflow: str | None = None) -> dict[str, dict[str, Any]]:
        """The open findings of the workflow by kind, as the API lists them."""
        params = {"workflow": workflow or self.workflow}
        reply = self.env.get("/findings", params=params)
        assert reply.status_code == 200, reply.text
        return {f["kind"]: f for f in reply.json()["items"]}


def _signed(
    session: Any,
    actor: Principal,
    started: dict[str, Any],
    kinds: tuple[str, ...],
    annotations: dict[str, str],
) -> dict[str, Any]:
    run, wf = started["run"], started["workflow"]
    materials = []
    for kind in kinds:
        value = f"{kind}-{run['id']}".encode()
        materials.append(
            {
                "name": kind.lower(),
                "digest": {"sha256": hashlib.sha256(value).hexdigest()},
                "content": base64.b64encode(value).decode(),
                "annotations": {
                    "chainproof.material.name": kind.lower(),
                    "chainproof.material.kind": kind,
                    "chainproof.material.cas": "false",
                },
            }
        )
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "run", "digest": {"sha256": "0" * 64}}],
        "predicateType": statement_mod.PREDICATE_TYPE,
        "predicate": {
            "workflow": {
                "name": wf["name"],
                "project": wf["project"],
                "workflowID": wf["id"],
                "runID": run["id"],
                "contractName": started["contract"]["name"],
                "contractRevision": started["contract"]["revision"],
            },
            "materials": materials,
            "annotations": annotations,
        },
    }
    signer = signer_mod.EphemeralSigner()
    uri = ca_mod.identity_uri(actor.org_name, "p", wf["name"], run["id"])
    chain = signing.issue_certificate(session, actor, run["id"], signer.csr(uri).decode())
    bundle: dict[str, Any] = signer.sign(statement, [c.encode() for c in chain]).to_dict()
    return bundle


def _setup(env: Env) -> Script:
    assert env.post("/projects", {"name": "p"}).status_code == 201
    assert env.post("/contracts", {"name": "drift", "raw": CONTRACT}).status_code == 201
    body = {"name": "build", "project": "p", "contract": "drift", "team": "payments"}
    assert env.post("/workflows", body).status_code == 201
    return Script(env)


def _routine(script: Script, days: int) -> list[str]:
    ids = []
    for _ in range(days):
        ids.append(script.succeed(kinds=FULL["kinds"], annotations=FULL["annotations"]))
        script.tick()
    return ids


def test_unmanaged_opens_at_implicit_creation_and_closes_with_a_contract(
    app_client: Env,
) -> None:
    script = _setup(app_client)
    script.init(GHA, workflow="biuld")  # a typo creates a workflow with the empty contract
    (unmanaged,) = script.open("biuld").values()
    assert unmanaged["kind"] == "unmanaged" and unmanaged["severity"] == "medium"
    assert unmanaged["project"] == "p" and unmanaged["status"] == "open"
    with app_client.sessions.begin() as session:
        workflows.update(session, script.actor(session), "p", "biuld", contract="drift")
    assert script.open("biuld")  # only reconciled on runs and by the job...
    script.job()
    assert script.open("biuld") == {}  # ...which closed it
    closed = app_client.get("/findings", params={"workflow": "biuld", "status": "closed"})
    (item,) = closed.json()["items"]
    assert item["id"] == unmanaged["id"] and item["closed_at"] is not None


def test_regressed_runner_changed_and_lagging_over_weeks(app_client: Env) -> None:
    script = _setup(app_client)
    _routine(script, 5)
    assert script.open() == {}
    # The SBOM-like artifact and the ticket annotation go missing; the policy fails.
    poor = script.succeed(kinds=("STRING",))
    full_before = app_client.get("/runs", params={"status": "succeeded", "limit": 2}).json()
    regressed = script.open()["regressed"]
    assert regressed["severity"] == "high" and regressed["owner"] == "payments"
    assert regressed["evidence"] == [poor, full_before["items"][1]["id"]]
    assert regressed["details"]["material_kinds"] == ["ARTIFACT"]
    assert regressed["details"]["annotations"] == ["ticket"]
    assert regressed["details"]["policies"] == ["required-annotations"]
    assert regressed["details"]["policies_failing"] == ["required-annotations"]
    script.tick()
    script.succeed(kinds=("STRING",))  # still missing: still the same finding
    assert script.open()["regressed"]["id"] == regressed["id"]
    script.tick()
    _routine(script, 1)
    assert "regressed" not in script.open()

    # A run from a laptop, then from a self-hosted machine, then back on GitHub's runners.
    laptop = str(script.init(GENERIC)["run"]["id"])
    changed = script.open()["runner-changed"]
    assert changed["details"] == {"from": "GITHUB_ACTION", "to": "GENERIC"}
    assert changed["evidence"][0] == laptop
    script.tick()
    script.succeed(SELF_HOSTED, kinds=FULL["kinds"], annotations=FULL["annotations"])
    assert script.open()["runner-changed"]["details"]["to"] == "self-hosted"
    script.tick()
    _routine(script, 1)
    assert "runner-changed" not in script.open()

    # The security team publishes revision 2: the workflow lags until it complies.
    with app_client.sessions.begin() as session:
        stricter = CONTRACT.replace("optional: true", "optional: false")
        contracts.update(session, script.actor(session), "drift", stricter)
    script.job()
    lagging = script.open()["lagging"]
    assert lagging["severity"] == "low"
    assert lagging["details"] == {"revision": 1, "latest_revision": 2}
    _routine(script, 1)
    assert "lagging" not in script.open()


def test_failing_is_acknowledged_and_closes_on_success(app_client: Env) -> None:
    script = _setup(app_client)
    _routine(script, 3)
    first = script.fail()
    script.tick()
    second = script.fail()
    script.tick()
    assert "failing" not in script.open()
    third = script.expire()  # the expiry job's pass opens it
    failing = script.open()["failing"]
    assert failing["evidence"] == [third, second, first]
    assert failing["details"]["statuses"] == ["expired", "failed", "failed"]

    reply = app_client.post(f"/findings/{failing['id']}/acknowledge", {"reason": "known flake"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["acknowledged_reason"] == "known flake"
    script.tick()
    fourth = script.fail()
    still = script.open()["failing"]
    assert still["id"] == failing["id"] and still["evidence"][0] == fourth
    assert still["acknowledged_by"] and still["acknowledged_reason"] == "known flake"
    script.tick()
    _routine(script, 1)
    assert "failing" not in script.open()
    again = app_client.post(f"/findings/{failing['id']}/acknowledge", {"reason": "late"})
    assert again.status_code == 409, again.text
    with app_client.sessions() as session:
        actions = set(
            session.scalars(select(AuditEvent.action).where(AuditEvent.target == failing["id"]))
        )
    assert actions == {"finding.open", "finding.acknowledge", "finding.close"}


def test_stopped_is_learned_from_the_cadence_and_can_be_set(app_client: Env) -> None:
    script = _setup(app_client)
    _routine(script, 6)  # daily: the cadence is a day, three days allowed
    script.tick(1.5)
    script.job()
    assert "stopped" not in script.open()
    script.tick(1)  # 3.5 days since the last run
    script.job()
    stopped = script.open()["stopped"]
    assert stopped["details"]["learned"] is True
    assert stopped["details"]["allowed_seconds"] == 3 * 86400
    # A weekly cadence set by hand: not stopped any more.
    reply = app_client.put("/workflows/p/build/cadence", {"cadence_seconds": 7 * 86400})
    assert reply.status_code == 200, reply.text
    assert "stopped" not in script.open()
    with app_client.sessions.begin() as session:
        findings.set_cadence(session, script.actor(session), "p", "build", None, now=script.now)
    assert "stopped" in script.open()  # learned again: stopped again
    script.init()  # a run starts: the workflow is alive
    assert "stopped" not in script.open()


def test_listing_filters_and_permissions(app_client: Env) -> None:
    script = _setup(app_client)
    script.init(GHA, workflow="other")
    assert set(script.open("other")) == {"unmanaged"}
    reply = app_client.get("/findings", params={"kind": "unmanaged", "project": "p"})
    assert [f["workflow"] for f in reply.json()["items"]] == ["other"]
    assert app_client.get("/findings", params={"kind": "nope"}).status_code == 400
    assert app_client.get("/findings", params={"status": "nope"}).status_code == 400
    robot = app_client.robot()
    assert app_client.get("/findings", token=robot).status_code == 403
    finding_id = script.open("other")["unmanaged"]["id"]
    denied = app_client.post(f"/findings/{finding_id}/acknowledge", {"reason": "x"}, token=robot)
    assert denied.status_code == 403
    stranger = app_client.new_org()
    assert stranger.get("/findings").json()["items"] == []
    missing = stranger.post(f"/findings/{finding_id}/acknowledge", {"reason": "x"})
    assert missing.status_code == 404
    prefix = app_client.post(f"/findings/{finding_id[:8]}/acknowledge", {"reason": "typo"})
    assert prefix.status_code == 200 and prefix.json()["id"] == finding_id
    short = app_client.post(f"/findings/{finding_id[:4]}/acknowledge", {"reason": "x"})
    assert short.status_code == 400
    too_short = app_client.put("/workflows/p/build/cadence", {"cadence_seconds": 60})
    assert too_short.status_code == 400


def test_at_most_one_open_finding_per_workflow_and_kind(app_client: Env) -> None:
    script = _setup(app_client)
    with app_client.sessions() as session:
        wf = session.scalar(select(Workflow).where(Workflow.org_id == app_client.org["id"]))
        assert wf is not None
        now = utcnow()
        for _ in range(2):
            session.add(
                Finding(
                    org_id=wf.org_id,
                    workflow_id=wf.id,
                    kind="failing",
                    severity="high",
                    opened_at=now,
                    evidence=[],
                    details={},
                )
            )
        with pytest.raises(IntegrityError):  # the partial unique index refuses the second
            session.flush()
        session.rollback()
    assert script.open() == {}


def test_the_servers_drift_settings_reach_the_rules(app_client: Env) -> None:
    maker_info = app_client.sessions.kw["info"]
    assert maker_info[drift.SETTINGS_KEY] == app_client.settings.drift
    script = _setup(app_client)
    _routine(script, 1)
    with app_client.sessions.begin() as session:
        session.info[drift.SETTINGS_KEY] = DriftSettings(failing_runs=1)
        run_id = str(
            runs.init(
                session,
                script.actor(session),
                workflow="build",
                project="p",
                runner=GHA,
                now=script.now,
            )["run"]["id"]
        )
        runs.reset(session, script.actor(session), run_id, "failure", now=script.now)
    assert script.open()["failing"]["evidence"] == [run_id]


def test_findings_come_in_keyset_pages(app_client: Env) -> None:
    """The cursor names the last finding shown: a finding that opens while someone pages
    neither repeats one nor shifts the next page."""
    env = app_client
    for name in ("w1", "w2", "w3"):  # implicit creation: each is unmanaged
        reply = env.post("/runs", {"workflow": name, "project": "p", "runner": GENERIC})
        assert reply.status_code == 201, reply.text
    first = env.get("/findings", params={"limit": 2}).json()
    assert [f["workflow"] for f in first["items"]] == ["w3", "w2"] and first["next_cursor"]
    reply = env.post("/runs", {"workflow": "w4", "project": "p", "runner": GENERIC})
    assert reply.status_code == 201, reply.text
    rest = env.get("/findings", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [f["workflow"] for f in rest["items"]] == ["w1"] and rest["next_cursor"] is None
    assert env.get("/findings", params={"cursor": "junk"}).status_code == 400
