"""Load: N pushes, then W worker processes drain the outbox; every event delivered once.

Pushes N runs of one workflow (in-process API, no worker) to a webhook whose receiver
(uvicorn on 127.0.0.1, in this process) keeps each event by its idempotency key and counts
repeats, then starts W ``deliver_due`` worker processes against the same database and waits
until the outbox is drained. Prints the drain time, deliveries per second, and checks that
the receiver got N distinct events, no repeat, and that every delivery took one attempt.
PostgreSQL with ``--database-url`` (several workers share the outbox with SKIP LOCKED); on
SQLite use ``--workers 1``. Bounded: it stops by itself after ``--deadline`` seconds.

    python benchmarks/load_delivery.py --pushes 1000 --workers 2 --database-url URL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from bench_push_trust import Flow
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chainproof.server.app import create_app
from chainproof.server.bootstrap import create_org
from chainproof.server.db import Delivery
from chainproof.server.db.migrate import migrate
from chainproof.server.settings import Settings

_WORKER = """
import sys, time
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.jobs.delivery import deliver_due
from chainproof.server.services.delivery import RetryPolicy
sessions = make_sessionmaker(make_engine(sys.argv[1]), secret_key=sys.argv[2])
idle = 0
while idle < 20:  # stops once the outbox stays empty for about two seconds
    idle = 0 if deliver_due(sessions, RetryPolicy(), concurrency=8, limit=20) else idle + 1
    time.sleep(0 if idle == 0 else 0.1)
"""


class Counter:
    def __init__(self) -> None:
        self.events: set[str] = set()
        self.repeats = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        key = json.loads(body)["id"]
        if key in self.events:
            self.repeats += 1
        self.events.add(key)
        await asyncio.sleep(0.005)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _serve(app: Counter) -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}/hook"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=600, help="seconds for the drain")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()

    counter = Counter()
    url = _serve(counter)
    data = Path(tempfile.mkdtemp(prefix="cp-load-delivery-"))
    settings = Settings.embedded(
        data,
        environ={},
        secret_key=secrets.token_urlsafe(32),
        **({"database_url": args.database_url} if args.database_url else {}),
    )
    migrate(settings.database_url)
    app = create_app(settings, start_worker=False)
    with app.state.sessions.begin() as session:
        org, token = create_org(session, f"load-{secrets.token_hex(3)}")
    client = TestClient(app)
    flow = Flow(client, token, org["name"])
    flow._post("/integrations", {"kind": "webhook", "name": "h", "config": {"url": url}})
    flow._post("/integrations/h/attach", {"project": "p"})
    began = time.perf_counter()
    for _ in range(args.pushes):
        flow.sign_and_push(flow.init())
    pushed = time.perf_counter() - began
    secret = settings.secret_key.get_secret_value()
    began = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, settings.database_url, secret], env=os.environ
        )
        for _ in range(args.workers)
    ]
    try:
        while len(counter.events) < args.pushes and time.perf_counter() - began < args.deadline:
            time.sleep(0.1)
        drained = time.perf_counter() - began
    finally:
        for worker in workers:
            worker.wait(args.deadline)
    with app.state.sessions() as session:
        rows = session.execute(
            select(Delivery.status, Delivery.attempts, func.count()).group_by(
                Delivery.status, Delivery.attempts
            )
        ).all()
    client.close()
    app.state.engine.dispose()

    db = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    print(f"{args.pushes} pushes ({pushed:.1f} s), then {args.workers} worker processes, {db}")
    print(
        f"  drained in {drained:.1f} s ({len(counter.events) / drained:.0f} deliveries/s); "
        f"receiver: {len(counter.events)} distinct events, {counter.repeats} repeats"
    )
    print(f"  deliveries by (status, attempts): {[tuple(r) for r in rows]}")
    ok = len(counter.events) == args.pushes and counter.repeats == 0
    ok = ok and [tuple(r) for r in rows] == [("delivered", 1, args.pushes)]
    print("  every event delivered exactly once" if ok else "  FAILED: see above")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
