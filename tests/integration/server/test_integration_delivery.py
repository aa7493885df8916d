"""The outbox under load and beside pushes, bounded and on loopback (docs/integrations.md,
"Delivery"): worker processes sharing the outbox deliver every event once (two on
PostgreSQL, one on SQLite, which runs a single worker), and a push commits while a worker
is stalled mid-delivery on a receiver that does not answer. Figures (1,000 pushes, a 10 s
receiver) are in benchmarks/load_delivery.py and benchmarks/bench_integration_push.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server import history
from tests.receivers import Receiver

from chainproof.server.jobs.delivery import deliver_due
from chainproof.server.services.delivery import RetryPolicy

EVENTS = 40

_WORKER = """
import sys, time
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.jobs.delivery import deliver_due
from chainproof.server.services.delivery import RetryPolicy
sessions = make_sessionmaker(make_engine(sys.argv[1]), secret_key=sys.argv[2])
idle, deadline = 0, time.monotonic() + 90
while idle < 10 and time.monotonic() < deadline:  # until the outbox stays empty for ~1 s
    idle = 0 if deliver_due(sessions, RetryPolicy(timeout=10), concurrency=4, limit=5) else idle + 1
    time.sleep(0 if idle == 0 else 0.1)
"""


def _attach_webhook(env: Env, receiver: Receiver) -> None:
    body = {
        "kind": "webhook",
        "name": "hook",
        "config": {"url": f"{receiver.url}/webhook"},
        "secret": receiver.secret,
    }
    assert env.post("/integrations", body).status_code == 201
    attach = {"project": "shop", "events": ["run.failed", "run.succeeded"]}
    assert env.post("/integrations/hook/attach", attach).status_code == 200


def _deliveries(env: Env) -> list[dict[str, Any]]:
    reply = env.get("/integrations/hook/deliveries?limit=200")
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def test_worker_processes_sharing_the_outbox_deliver_every_event_once(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver(delay=0.01)
    _attach_webhook(env, receiver)
    for _ in range(EVENTS):
        history.run(env, "shop", "build", "failed")
    count = 1 if env.settings.database_url.startswith("sqlite") else 2
    secret = env.settings.secret_key.get_secret_value()
    command = [sys.executable, "-c", _WORKER, env.settings.database_url, secret]
    with receiver.running():
        workers = [subprocess.Popen(command, env=os.environ) for _ in range(count)]
        assert [w.wait(120) for w in workers] == [0] * count
    assert len(receiver.events) == EVENTS
    assert receiver.repeats == [] and receiver.refused == []
    rows = _deliveries(env)
    assert len(rows) == EVENTS
    assert {(d["status"], d["attempts"]) for d in rows} == {("delivered", 1)}


def test_a_push_commits_while_a_worker_is_stalled_mid_delivery(app_client: Env) -> None:
    env = app_client
    history.workflow(env, "shop", "build", history.PLAIN)
    receiver = Receiver(hold=True)  # takes the request, answers when released
    _attach_webhook(env, receiver)
    history.run(env, "shop", "build", "failed")
    policy = RetryPolicy(timeout=60, lease=120)
    sent: list[int] = []
    with receiver.running():
        worker = threading.Thread(target=lambda: sent.append(deliver_due(env.sessions, policy)))
        worker.start()
        deadline = time.monotonic() + 30
        while not receiver.served:
            assert time.monotonic() < deadline, "the worker never reached the receiver"
            time.sleep(0.02)
        # The worker holds its delivery open on the receiver: pushes go on regardless.
        run = history.run(env, "shop", "build", "pushed")
        assert run["status"] == "succeeded"
        states = sorted(d["status"] for d in _deliveries(env))
        assert states == ["delivering", "pending"] and worker.is_alive()
        receiver.hold = False
        worker.join(30)
    assert sent == [1] and len(receiver.events) == 1
