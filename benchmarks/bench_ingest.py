"""Ingest at scale: verified pushes per second from concurrent clients over HTTP.

Starts ``--processes`` API processes (`chainproof server start`, one port each, periodic jobs
off), each with ``--workers`` worker processes sharing its port (`server start --workers N`),
on one throw-away PostgreSQL database (``--database postgres``, the default), or one
`server start` on SQLite (``--database sqlite``: the embedded profile). Untimed, it creates the
runs, asks for their certificates and signs their attestations (what a CI job does before
`attestation push`). Timed, ``--clients`` threads push the pre-signed bundles, spread over
the processes, over HTTP. It prints pushes/s as answered, with p50/p95/p99 latency; pushes/s
until every push's follow-up (its VSA and findings reconcile, run after the answer) is done;
SQL statements per push, to answer it and after (the servers run with
``CHAINPROOF_COUNT_SQL=1``; the counts are read from their ``/metrics``, by phase),
the log entries per group-commit batch, and, as the same-run baselines from as many clients
on the same processes, the rate of verification alone (``POST /api/v1/bundles/verify`` of as
many other pre-signed bundles, never seen by the servers, so that no process has their
certificate checks cached: what a push's verification costs, plus authentication, recording
nothing) with its SQL statements per request, and the rate of ``GET /healthz``. With
``--workers`` above 1, ``/metrics`` of a port sums its workers.

    python benchmarks/bench_ingest.py [--processes 2] [--workers 1] [--clients 16]
        [--pushes 200] [--database postgres|sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from chainproof.core.statement import PREDICATE_TYPE
from chainproof.signing.ca import identity_uri
from chainproof.signing.signer import EphemeralSigner

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "tests" / "integration" / "assets" / "contract-artifact.yaml"
CLI = str(Path(sys.executable).parent / "chainproof")
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _pg_database() -> Iterator[str]:
    name = f"cp_bench_{secrets.token_hex(5)}"
    admin = sa.create_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def _servers(data: Path, env: dict[str, str], count: int, workers: int) -> Iterator[list[str]]:
    """``count`` `server start` processes of ``workers`` workers each on ``data``; their base
    URLs."""
    procs, urls = [], []
    try:
        for i in range(count):
            port = _free_port()
            log = (data.parent / f"server-{i}.log").open("wb")
            argv = [CLI, "server", "start", "--data-dir", str(data), "--port", str(port)]
            argv += ["--no-jobs", "--workers", str(workers)]
            procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=log))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_up(url, proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server {url} exited ({proc.returncode}); see its log")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"server {url} did not start")


class Api:
    """One organisation's API over HTTP, as its owner."""

    def __init__(self, url: str, token: str, org: str) -> None:
        self.url, self.org = url, org
        self.http = httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=120
        )

    def post(self, path: str, body: Any) -> Any:
        reply = self.http.post(path, json=body)
        if reply.status_code >= 300:
            raise SystemExit(f"POST {path}: {reply.status_code} {reply.text}")
        return reply.json()

    def prepare(self) -> tuple[str, dict[str, Any]]:
        """A new run and its signed attestation: ``attestation init`` + signing, untimed."""
        init = self.post(
            "/runs", {"workflow": "build", "project": "p", "runner": {"type": "GENERIC", "env": {}}}
        )
        run, wf = init["run"], init["workflow"]
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"sha256": secrets.token_hex(32)}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "workflow": {"name": wf["name"], "workflowID": wf["id"], "runID": run["id"]},
                "materials": [],
            },
        }
        signer = EphemeralSigner()
        uri = identity_uri(self.org, "p", "build", run["id"])
        csr = signer.csr(uri).decode()
        chain = self.post("/signing/certificates", {"run_id": run["id"], "csr": csr})["chain"]
        return run["id"], signer.sign(statement, [c.encode() for c in chain]).to_dict()


def _metric(urls: list[str], name: str, labels: str = "") -> float:
    """The sum over the processes of a counter in their ``/metrics`` (of its samples whose
    labels contain ``labels``, e.g. ``phase="request"``)."""
    total = 0.0
    within = rf"{{[^}}]*{re.escape(labels)}[^}}]*}}" if labels else r"(?:{[^}]*})?"
    pattern = re.compile(rf"^{re.escape(name)}{within} ([0-9.e+]+)$", re.M)
    for url in urls:
        text = httpx.get(f"{url}/metrics", timeout=30).text
        total += sum(float(v) for v in pattern.findall(text))
    return total


def _counters(urls: list[str]) -> dict[str, float]:
    """The counters the report needs, summed over the processes."""
    statements = "chainproof_db_statements_total"
    return {
        "request": _metric(urls, statements, 'phase="request"'),
        "after_answer": _metric(urls, statements, 'phase="after_answer"'),
        "accepted": _metric(urls, "chainproof_pushes_total", 'outcome="accepted"'),
        "follow_ups": _metric(urls, "chainproof_push_follow_ups_total"),
        "batches": _metric(urls, "chainproof_tlog_batches_total"),
        "entries": _metric(urls, "chainproof_tlog_batched_entries_total"),
    }


def _settle(urls: list[str], before: dict[str, float], wall: float) -> float:
    """Wait (up to a minute) until every accepted push's follow-up ran; the seconds from the
    first push until then, as near as polling every 50 ms tells."""
    began = time.perf_counter() - wall
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = _counters(urls)
        if now["follow_ups"] - before["follow_ups"] >= now["accepted"] - before["accepted"]:
            return time.perf_counter() - began
        time.sleep(0.05)
    raise SystemExit("the pushes' follow-ups did not all finish within a minute")


def _timed(clients: int, jobs: list[Callable[[], None]]) -> tuple[float, list[float]]:
    """Run ``jobs`` from ``clients`` threads; wall time and each job's latency."""
    latencies: list[float] = []
    lock = threading.Lock()

    def run(job: Callable[[], None]) -> None:
        began = time.perf_counter()
        job()
        spent = time.perf_counter() - began
        with lock:
            latencies.append(spent)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, jobs))
    return time.perf_counter() - began, latencies


def _probe(client: httpx.Client) -> Callable[[], None]:
    def run() -> None:
        client.get("/healthz").raise_for_status()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=2, help="API ports (PostgreSQL)")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes per port (server start --workers)"
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--pushes", type=int, default=200, help="timed pushes")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    args = parser.parse_args()
    processes = 1 if args.database == "sqlite" else args.processes

    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-ingest-"))
    data = tmp / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINPROOF_")}
    env |= {"CHAINPROOF_COUNT_SQL": "1", "CHAINPROOF_LOG_LEVEL": "WARNING"}
    with contextlib.ExitStack() as stack:
        if args.database == "postgres":
            env["CHAINPROOF_DATABASE_URL"] = stack.enter_context(_pg_database())
        init = subprocess.run(
            [CLI, "server", "init", "--data-dir", str(data), "--org", "bench", "-o", "json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        token = json.loads(init.stdout)["token"]
        urls = stack.enter_context(_servers(data, env, processes, args.workers))
        apis = [Api(url, token, "bench") for url in urls]
        apis[0].post("/projects", {"name": "p"})
        apis[0].post("/contracts", {"name": "c", "raw": CONTRACT.read_text()})
        apis[0].post("/workflows", {"name": "build", "project": "p", "contract": "c"})

        def warm(api: Api) -> None:
            run_id, bundle = api.prepare()
            api.post(f"/runs/{run_id}/attestation", {"bundle": bundle})

        # Warm up each process (keys, log, imports): a few pushes at once per worker, which
        # the kernel spreads over the workers of a port.
        with ThreadPoolExecutor(4 * args.workers) as pool:
            list(pool.map(warm, [a for a in apis for _ in range(4 * args.workers)]))

        spread = itertools.cycle(apis)
        with ThreadPoolExecutor(4) as pool:
            prepared = list(pool.map(lambda _: next(spread).prepare(), range(args.pushes)))
            # The verify-only baseline's bundles: the same kind, for runs left unpushed.
            copies = list(pool.map(lambda _: next(spread).prepare(), range(args.pushes)))

        def push(api: Api, run_id: str, bundle: dict[str, Any]) -> Callable[[], None]:
            return lambda: api.post(f"/runs/{run_id}/attestation", {"bundle": bundle})

        def check(api: Api, bundle: dict[str, Any]) -> Callable[[], None]:
            return lambda: api.post("/bundles/verify", {"bundle": bundle})

        before = _counters(urls)
        jobs = [push(api, r, b) for api, (r, b) in zip(itertools.cycle(apis), prepared)]
        wall, latencies = _timed(args.clients, jobs)
        answered = _counters(urls)
        settled = _settle(urls, before, wall)
        after = _counters(urls)
        pushed = {k: after[k] - before[k] for k in after}
        pushed["answered"] = answered["request"] - before["request"]

        verified = _metric(urls, "chainproof_db_statements_total")
        checks = [check(api, b) for api, (_, b) in zip(itertools.cycle(apis), copies)]
        v_wall, v_lat = _timed(args.clients, checks)
        verified = _metric(urls, "chainproof_db_statements_total") - verified

        health = [httpx.Client(base_url=u, timeout=30) for u in urls]
        probes = [c for c, _ in zip(itertools.cycle(health), range(args.pushes * 5))]
        h_wall, h_lat = _timed(args.clients, [_probe(c) for c in probes])

    db = "PostgreSQL" if args.database == "postgres" else "SQLite"
    print(
        f"ingest: {args.pushes} pre-signed pushes, {args.clients} clients, {processes} API "
        f"port(s) x {args.workers} worker process(es), {db}"
    )
    p50, p95, p99 = (_pct(latencies, q) * 1000 for q in (0.5, 0.95, 0.99))
    print(
        f"  push      {args.pushes / wall:8.1f} /s   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"
        f"   p99 {p99:7.1f} ms"
    )
    accepted = max(pushed["accepted"], 1)
    print(
        f"  with follow-ups {args.pushes / settled:6.1f} /s   (every VSA and findings "
        f"reconcile done {settled - wall:.1f} s after the last answer)"
    )
    print(
        f"  SQL statements per push: {pushed['answered'] / accepted:.1f} to answer it, "
        f"{pushed['after_answer'] / accepted:.1f} after (VSA, findings); a verify-only "
        f"request: {verified / max(len(checks), 1):.1f} ({int(accepted)} pushes counted)"
    )
    if pushed["batches"]:  # servers with group commit (issue 16)
        print(
            f"  log: {int(pushed['entries'])} entries in {int(pushed['batches'])} batches "
            f"({pushed['entries'] / pushed['batches']:.2f} entries per transaction and "
            "checkpoint)"
        )
    print(
        f"  baseline verify only  {len(checks) / v_wall:8.1f} /s   "
        f"p50 {_pct(v_lat, 0.5) * 1000:7.1f} ms   p99 {_pct(v_lat, 0.99) * 1000:7.1f} ms"
    )
    print(
        f"  baseline GET /healthz {len(probes) / h_wall:8.1f} /s   "
        f"p50 {_pct(h_lat, 0.5) * 1000:7.1f} ms   p99 {_pct(h_lat, 0.99) * 1000:7.1f} ms"
    )


if __name__ == "__main__":
    main()
