"""A push never waits for a receiver: push latency with a webhook that takes 10 s to answer.

Runs the control plane in-process (FastAPI TestClient, with its lifespan, so the delivery
worker runs as under ``server start``) over SQLite, or PostgreSQL with ``--database-url``.
Two organisations push alike: the baseline has no integration; the other has a webhook
attached to its project, whose receiver (uvicorn on 127.0.0.1) sleeps 10 s before answering.
Rounds alternate between the two so drift hits both alike. It prints p50 and p99 of each and
their ratio, then waits for the worker and prints how many deliveries the slow receiver got.

    python benchmarks/bench_integration_push.py [--pushes 40] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from bench_push_trust import Flow, _pct
from fastapi.testclient import TestClient

from chainproof.server.app import create_app
from chainproof.server.bootstrap import create_org
from chainproof.server.db.migrate import migrate
from chainproof.server.settings import Settings

DELAY = 10.0


class SlowReceiver:
    def __init__(self) -> None:
        self.answered = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await asyncio.sleep(DELAY)
        self.answered += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _serve(app: SlowReceiver) -> tuple[str, uvicorn.Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}/hook", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=40, help="pushes per variant")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()

    receiver = SlowReceiver()
    url, server = _serve(receiver)
    data = Path(tempfile.mkdtemp(prefix="cp-bench-integ-"))
    settings = Settings.embedded(
        data,
        environ={},
        secret_key=secrets.token_urlsafe(32),
        delivery_poll_seconds=0.2,
        delivery_timeout_seconds=DELAY + 5,
        delivery_lease_seconds=DELAY + 30,
        delivery_concurrency=args.pushes + 1,
        expiry_check_seconds=0,
        findings_check_seconds=0,
        cas_validation_seconds=0,
        **({"database_url": args.database_url} if args.database_url else {}),
    )
    migrate(settings.database_url)
    app = create_app(settings)  # with the worker jobs: the delivery loop runs
    flows: dict[bool, Flow] = {}
    with TestClient(app) as client:
        for hooked in (False, True):
            with app.state.sessions.begin() as session:
                org, token = create_org(session, f"bench-{secrets.token_hex(3)}")
            flows[hooked] = Flow(client, token, org["name"])
        body = {"kind": "webhook", "name": "slow", "config": {"url": url}, "secret": "k"}
        flows[True]._post("/integrations", body)
        flows[True]._post("/integrations/slow/attach", {"project": "p"})
        for flow in flows.values():
            flow.sign_and_push(flow.init())  # warm up (the hooked one queues a delivery)

        times: dict[bool, list[float]] = {True: [], False: []}
        block = 5
        for start in range(0, args.pushes, block):
            for hooked in (True, False):
                for _ in range(min(block, args.pushes - start)):
                    init = flows[hooked].init()
                    began = time.perf_counter()
                    flows[hooked].sign_and_push(init)
                    times[hooked].append(time.perf_counter() - began)
        pushed = time.perf_counter()
        expected = args.pushes + 1
        while receiver.answered < expected and time.perf_counter() - pushed < 3 * DELAY + 30:
            time.sleep(0.2)
        waited = time.perf_counter() - pushed
    server.should_exit = True

    db = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    on, off = times[True], times[False]
    print(f"sign + push, {args.pushes} pushes per variant, {db}, in-process API + worker")
    for label, values in (
        (f"webhook ({DELAY:.0f} s)", on),
        ("no integration", off),
    ):
        print(
            f"  {label:<18} p50 {_pct(values, 0.5) * 1000:7.2f} ms   "
            f"p90 {_pct(values, 0.9) * 1000:7.2f} ms   p99 {_pct(values, 0.99) * 1000:7.2f} ms   "
            f"max {max(values) * 1000:7.2f} ms"
        )
    print(
        f"  ratio hooked/baseline  p50 {_pct(on, 0.5) / _pct(off, 0.5):5.2f}x   "
        f"p99 {_pct(on, 0.99) / _pct(off, 0.99):5.2f}x"
    )
    print(
        f"  the slow receiver answered {receiver.answered} of {expected} deliveries, the last "
        f"{waited:.1f} s after the last push"
    )


if __name__ == "__main__":
    main()
