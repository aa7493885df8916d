"""Integrations end to end over the API, on SQLite and PostgreSQL, against real receivers on
loopback (tests/receivers.py): the event written in the transaction that caused it, delivered
by the worker's pass (jobs/delivery.py), signed, retried, reclaimed after a lease, sent
again on request; secrets never answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server import history
from tests.receivers import Receiver, smtp_receiver

from chainproof.integrations import Outcome
from chainproof.server.db import Delivery, Integration
from chainproof.server.db.base import utcnow
from chainproof.server.jobs.delivery import deliver_due
from chainproof.server.services import delivery
from chainproof.server.services.delivery import RetryPolicy

POLICY = RetryPolicy(timeout=5, max_attempts=3, backoff=1, backoff_max=2, lease=30)


def _add(env: Env, name: str, kind: str, config: dict[str, Any], secret: str | None) -> Any:
    reply = env.post(
        "/integrations", {"kind": kind, "name": name, "config": config, "secret": secret}
    )
    assert reply.status_code == 201, reply.text
    return reply


def _attach(env: Env, name: str, project: str = "shop", **filters: Any) -> None:
    reply = env.post(f"/integrations/{name}/attach", {"project": project, **filters})
    assert reply.status_code == 200, reply.text


def _webhook(env: Env, receiver: Receiver, name: str = "hook", **filters: Any) -> Any:
    config = {"url": f"{receiver.url}/webhook"}
    reply = _add(env, name, "webhook", config, receiver.secret)
    _attach(env, name, **filters)
    return reply


def _deliveries(env: Env, name: str = "hook") -> list[dict[str, Any]]:
    reply = env.get(f"/integrations/{name}/deliveries")
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def _pass(env: Env, later: float = 0, policy: RetryPolicy = POLICY) -> int:
    return deliver_due(env.sessions, policy, now=utcnow() + timedelta(seconds=later))


def test_a_pushed_run_reaches_the_signed_webhook_and_the_secret_is_never_answered(
    app_client: Env,
) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    created = _webhook(env, receiver)
    _add(env, "failures", "webhook", {"url": f"{receiver.url}/webhook"}, "other")
    _attach(env, "failures", events=["run.failed"])
    kinds = {k["kind"]: k for k in env.get("/integration-kinds").json()}
    assert {"webhook", "slack", "discord", "teams", "email"} <= kinds.keys()
    assert "url" in kinds["webhook"]["config_schema"]["properties"]
    answers = [created, env.get("/integrations"), env.get("/integrations/hook")]
    assert all(receiver.secret not in a.text for a in answers)
    assert env.get("/integrations/hook").json()["has_secret"] is True
    with env.sessions() as session:
        stored = session.scalar(select(Integration.secret).where(Integration.name == "hook"))
    assert stored and receiver.secret.encode() not in stored

    run = history.run(env, "shop", "build", "pushed")
    assert run["status"] == "succeeded"
    assert [d["status"] for d in _deliveries(env)] == ["pending"]
    assert _deliveries(env, "failures") == []  # filtered out: not a run.failed
    with receiver.running():
        assert _pass(env) == 1
    assert receiver.refused == []
    (event,) = receiver.events.values()
    assert event["type"] == "dev.chainproof.run.succeeded"
    assert event["source"] == f"chainproof/{env.org['name']}"
    assert event["data"]["run_id"] == run["id"] and event["data"]["workflow"] == "build"
    assert event["data"]["url"] == f"http://testserver/api/v1/runs/{run['id']}"
    (done,) = _deliveries(env)
    assert done["status"] == "delivered" and done["event_id"] == event["id"]
    assert [(a["outcome"], a["status_code"]) for a in done["history"]] == [("delivered", 200)]
    assert env.delete("/integrations/hook").status_code == 204
    with env.sessions() as session:
        assert session.get(Delivery, done["id"]) is None  # removed with its integration


def test_a_receiver_down_then_back_gets_each_event_exactly_once(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    _webhook(env, receiver)
    history.run(env, "shop", "build", "pushed")
    history.run(env, "shop", "build", "failed")
    assert _pass(env) == 0  # nothing listens on the port
    assert {(d["status"], d["attempts"]) for d in _deliveries(env)} == {("pending", 1)}
    assert all(d["last_error"] and d["history"][0]["outcome"] == "error" for d in _deliveries(env))
    assert _pass(env) == 0  # not due yet: backing off
    receiver.status = 503
    with receiver.running():
        assert _pass(env, later=60) == 0
        assert {d["last_status_code"] for d in _deliveries(env)} == {503}
        receiver.status = 200
        assert _pass(env, later=120) == 2
        assert _pass(env, later=3600) == 0
    assert len(receiver.events) == 2 and receiver.repeats == [] and receiver.refused == []
    types = {e["type"] for e in receiver.events.values()}
    assert types == {"dev.chainproof.run.succeeded", "dev.chainproof.run.failed"}
    assert {(d["status"], d["attempts"]) for d in _deliveries(env)} == {("delivered", 3)}


def test_a_dead_workers_lease_is_reclaimed_and_its_late_result_ignored(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    _webhook(env, receiver)
    history.run(env, "shop", "build", "failed")
    with env.sessions.begin() as session:
        (held,) = delivery.claim(session, POLICY)  # this worker dies before sending
    with receiver.running():
        assert _pass(env) == 0  # still leased
        assert _pass(env, later=POLICY.lease + 1) == 1
    assert len(receiver.events) == 1 and receiver.repeats == []
    with env.sessions.begin() as session:
        late = Outcome(False, None, "worker came back")
        assert delivery.finish(session, held, late, utcnow(), POLICY) is False
    (row,) = _deliveries(env)
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    assert [a["outcome"] for a in row["history"]] == ["delivered", "error"]


_WORKER = """
import sys
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.jobs.delivery import deliver_due
from chainproof.server.services.delivery import RetryPolicy
sessions = make_sessionmaker(make_engine(sys.argv[1]), secret_key=sys.argv[2])
deliver_due(sessions, RetryPolicy(timeout=60, lease=30))
"""


def test_a_worker_killed_mid_delivery_has_its_job_reclaimed_after_the_lease(
    app_client: Env,
) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver(delay=30)  # takes the event, then answers too late
    _webhook(env, receiver)
    history.run(env, "shop", "build", "failed")
    secret = env.settings.secret_key.get_secret_value()
    with receiver.running():
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER, env.settings.database_url, secret], env=os.environ
        )
        deadline = time.monotonic() + 60
        while not receiver.served:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)  # mid-delivery: claimed, sent, not recorded
        assert worker.wait(10) == -signal.SIGKILL
        (row,) = _deliveries(env)
        assert (row["status"], row["attempts"]) == ("delivering", 0)
        receiver.delay = 0
        assert _pass(env) == 0  # its lease still holds
        assert _pass(env, later=31) == 1  # the lease ran out: claimed again
    assert len(receiver.events) == 1  # the receiver acted once ...
    assert receiver.repeats == [row["event_id"]]  # ... and knew the repeat by its key
    (row,) = _deliveries(env)
    assert (row["status"], row["attempts"]) == ("delivered", 1)


def test_a_failed_delivery_is_redelivered_on_request(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    _webhook(env, receiver)
    history.run(env, "shop", "build", "failed")
    once = RetryPolicy(timeout=5, max_attempts=1)
    assert _pass(env, policy=once) == 0
    (row,) = _deliveries(env)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert _pass(env, later=3600, policy=once) == 0  # failed for good: never claimed again
    again = env.post(f"/deliveries/{row['id']}/redeliver")
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
    with receiver.running():
        assert _pass(env) == 1
        assert env.post(f"/deliveries/{row['id']}/redeliver").status_code == 200
        assert _pass(env) == 1
    assert receiver.repeats == [row["event_id"]]  # same idempotency key: the receiver knows
    other = env.new_org()
    assert env.post(f"/deliveries/{row['id']}/redeliver", token=other.token).status_code == 404


def test_a_contract_revision_reaches_the_workflows_that_use_it(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    history.workflow(env, "shop", "docs", history.PLAIN)  # its own contract: not concerned
    receiver = Receiver()
    _webhook(env, receiver, material_kinds=["SBOM_CYCLONEDX_JSON"])
    _add(env, "other", "webhook", {"url": f"{receiver.url}/webhook"}, receiver.secret)
    _attach(env, "other", material_kinds=["SARIF"])
    raw = history.PLAIN.replace("name: sbom}", "name: sbom, optional: true}")
    assert env.put("/contracts/shop-build", {"raw": raw}).status_code == 200
    assert _deliveries(env, "other") == []
    with receiver.running():
        assert _pass(env) == 1
    (event,) = receiver.events.values()
    assert event["type"] == "dev.chainproof.contract.published"
    assert event["data"]["workflows"] == ["build"] and event["data"]["revision"] == 2
    assert event["subject"] == "shop-build@2"


def test_policy_violation_and_blocked_run_events(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "gated", history.GATED)
    receiver = Receiver()
    _webhook(env, receiver, events=["run.blocked", "policy.violated"])
    assert history.run(env, "shop", "gated", "pushed")["status"] == "blocked"
    with receiver.running():
        assert _pass(env) == 2
    found = {e["type"]: e["data"] for e in receiver.events.values()}
    assert found.keys() == {"dev.chainproof.run.blocked", "dev.chainproof.policy.violated"}
    assert found["dev.chainproof.policy.violated"]["violations"] == ["sbom-banned-licenses:sbom"]


def test_email_and_chat_kinds_deliver_a_readable_summary(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    with smtp_receiver() as (port, inbox), receiver.running():
        config = {
            "host": "127.0.0.1",
            "port": str(port),
            "starttls": "false",
            "sender": "chainproof@example.com",
            "to": "team@example.com, lead@example.com",
        }
        _add(env, "mail", "email", config, None)
        _attach(env, "mail")
        for chat in ("slack", "discord", "teams"):
            _add(env, chat, chat, {}, f"{receiver.url}/{chat}")
            _attach(env, chat)
        run = history.run(env, "shop", "build", "failed")
        assert _pass(env) == 4
    (message,) = inbox
    assert message["To"] == "team@example.com, lead@example.com"
    assert f"[{env.org['name']}] run of shop/build failed" in message["Subject"]
    assert run["id"] in message.get_payload()
    texts = {path: doc.get("text") or doc.get("content") for path, doc in receiver.chats}
    assert texts.keys() == {"/slack", "/discord", "/teams"}
    assert all("run of shop/build failed" in t and run["id"] in t for t in texts.values())
    assert receiver.refused == []
    answers = [env.get(f"/integrations/{chat}").text for chat in ("slack", "teams")]
    assert all(receiver.url not in a for a in answers)  # the chat URL is the secret


def test_no_delivery_without_an_attachment_and_bad_or_metadata_targets_refused(
    app_client: Env,
) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    bad = env.post("/integrations", {"kind": "email", "name": "m", "config": {"host": "x"}})
    assert bad.status_code == 400 and "sender" in bad.json()["detail"]
    unknown = env.post("/integrations", {"kind": "pager", "name": "p", "config": {}})
    assert unknown.status_code == 400 and "webhook" in unknown.json()["hint"]
    metadata = "http://169.254.169.254/latest/meta-data/"
    ssrf = env.post("/integrations", {"kind": "webhook", "name": "w", "config": {"url": metadata}})
    assert ssrf.status_code == 403 and "metadata" in ssrf.json()["detail"]
    body = {"kind": "slack", "name": "s", "config": {}, "secret": metadata}
    assert env.post("/integrations", body).status_code == 403
    history.run(env, "shop", "build", "failed")
    with env.sessions() as session:
        mine = select(Delivery).where(Delivery.org_id == env.org["id"])
        assert list(session.scalars(mine)) == []


def test_concurrent_workers_deliver_every_event_once(app_client: Env) -> None:
    """Two workers racing on PostgreSQL (SKIP LOCKED); one on SQLite, which runs a single
    worker (docs/integrations.md)."""
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver(delay=0.05)
    _webhook(env, receiver, events=["run.failed"])  # not the `failing` finding they open
    for _ in range(12):
        history.run(env, "shop", "build", "failed")
    workers = 1 if env.settings.database_url.startswith("sqlite") else 2
    sent: list[int] = []

    def work() -> None:
        while count := deliver_due(env.sessions, POLICY, concurrency=2, limit=3):
            sent.append(count)

    with receiver.running():
        threads = [threading.Thread(target=work) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sum(sent) == 12 and len(receiver.events) == 12
    assert receiver.repeats == [] and receiver.refused == []
    assert {(d["status"], d["attempts"]) for d in _deliveries(env)} == {("delivered", 1)}


def test_a_finding_that_opens_and_closes_reaches_the_workflows_integrations(
    app_client: Env,
) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver()
    _webhook(env, receiver, events=["finding.opened", "finding.closed"])
    for _ in range(3):  # three failures in a row: the `failing` finding opens
        history.run(env, "shop", "build", "failed")
    history.run(env, "shop", "build", "pushed")  # a success closes it
    with receiver.running():
        assert _pass(env) == 2
    found = {e["type"]: e for e in receiver.events.values()}
    assert found.keys() == {"dev.chainproof.finding.opened", "dev.chainproof.finding.closed"}
    opened = found["dev.chainproof.finding.opened"]
    assert opened["data"]["kind"] == "failing" and opened["data"]["workflow"] == "build"
    assert opened["subject"] == found["dev.chainproof.finding.closed"]["subject"]
    assert len(opened["data"]["evidence"]) == 3  # the three failed runs
