"""Cost of the transparency log and the timestamp authority per push (sign + push).

Runs the control plane in-process (FastAPI TestClient) over SQLite, or PostgreSQL with
``--database-url``, and times, per run: certificate request, signing, and the push that
verifies, logs, timestamps and stores. The baseline is the same pushes in the same run with
notarisation (log entry and RFC 3161 timestamp, of the attestation and of the VSA the push
issues) replaced by a pass-through (a switch that exists only here, by patching
``services.tlog.notarise``); rounds alternate between the two so drift hits both alike. It
prints p50 and p99 of each, their ratio, and the time spent notarising and timestamping.

    python benchmarks/bench_push_trust.py [--pushes 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from chainproof.core.statement import PREDICATE_TYPE
from chainproof.server.app import create_app
from chainproof.server.bootstrap import create_org
from chainproof.server.db.migrate import migrate
from chainproof.server.services import tlog as tlog_service
from chainproof.server.settings import Settings
from chainproof.signing.ca import identity_uri
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.tsa import TimestampAuthority

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "tests" / "integration" / "assets" / "contract-artifact.yaml"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Flow:
    """One organisation, project and workflow; :meth:`sign_and_push` runs one attestation."""

    def __init__(self, client: TestClient, token: str, org: str) -> None:
        self.client, self.org = client, org
        self.headers = {"Authorization": f"Bearer {token}"}
        self._post("/projects", {"name": "p"})
        self._post("/contracts", {"name": "c", "raw": CONTRACT.read_text()})
        self._post("/workflows", {"name": "build", "project": "p", "contract": "c"})

    def _post(self, path: str, body: Any) -> Any:
        reply = self.client.post(f"/api/v1{path}", json=body, headers=self.headers)
        if reply.status_code >= 300:
            raise SystemExit(f"POST {path}: {reply.status_code} {reply.text}")
        return reply.json()

    def init(self) -> dict[str, Any]:
        body = {"workflow": "build", "project": "p", "runner": {"type": "GENERIC", "env": {}}}
        return dict(self._post("/runs", body))

    def sign_and_push(self, init: dict[str, Any]) -> dict[str, Any]:
        run, wf = init["run"], init["workflow"]
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"sha256": "ab" * 32}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "workflow": {"name": wf["name"], "workflowID": wf["id"], "runID": run["id"]},
                "materials": [],
            },
        }
        signer = EphemeralSigner()
        uri = identity_uri(self.org, "p", "build", run["id"])
        chain = self._post(
            "/signing/certificates", {"run_id": run["id"], "csr": signer.csr(uri).decode()}
        )["chain"]
        bundle = signer.sign(statement, [c.encode() for c in chain]).to_dict()
        return dict(self._post(f"/runs/{run['id']}/attestation", {"bundle": bundle}))


@contextmanager
def _trust_steps(enabled: bool, spent: dict[str, list[float]]) -> Iterator[None]:
    """Run pushes with notarisation (log entry + RFC 3161 timestamp, for the attestation and
    for the VSA the push issues) as it is, timing it and its TSA step into ``spent``, or
    replaced by a pass-through."""
    notarise, stamp = tlog_service.notarise, TimestampAuthority.timestamp

    def timed(fn: Callable[..., Any], into: list[float]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                into.append(time.perf_counter() - start)

        return run

    if enabled:
        tlog_service.notarise = timed(notarise, spent["notarise"])  # type: ignore[assignment]
        TimestampAuthority.timestamp = timed(stamp, spent["tsa"])  # type: ignore[method-assign]
    else:
        tlog_service.notarise = lambda session, org, name, bundle, **kw: (bundle, _NO_ENTRY)  # type: ignore[assignment]
    try:
        yield
    finally:
        tlog_service.notarise = notarise  # type: ignore[assignment]
        TimestampAuthority.timestamp = stamp  # type: ignore[method-assign]


_NO_ENTRY = {"logIndex": "0", "logId": {"keyId": ""}, "integratedTime": "0"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=200, help="pushes per variant")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="cp-bench-trust-"))
    settings = Settings.embedded(
        data,
        environ={},
        secret_key=secrets.token_urlsafe(32),
        **({"database_url": args.database_url} if args.database_url else {}),
    )
    migrate(settings.database_url)
    app = create_app(settings, start_worker=False)
    with app.state.sessions.begin() as session:
        org, token = create_org(session, f"bench-{secrets.token_hex(3)}")
    client = TestClient(app)
    flow = Flow(client, token, org["name"])
    flow.sign_and_push(flow.init())  # warm up: keys, log, imports

    times: dict[bool, list[float]] = {True: [], False: []}
    spent: dict[str, list[float]] = {"notarise": [], "tsa": []}
    block = 10
    for start in range(0, args.pushes, block):
        for enabled in (True, False):
            with _trust_steps(enabled, spent):
                for _ in range(min(block, args.pushes - start)):
                    init = flow.init()  # not timed: the CI job's `attestation init`
                    began = time.perf_counter()
                    flow.sign_and_push(init)
                    times[enabled].append(time.perf_counter() - began)
    client.close()
    app.state.engine.dispose()

    db = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    on, off = times[True], times[False]
    print(f"sign + push, {args.pushes} pushes per variant, {db}, in-process API")
    for label, values in (("with tlog + TSA", on), ("without (baseline)", off)):
        print(
            f"  {label:<20} p50 {_pct(values, 0.5) * 1000:7.2f} ms   "
            f"p99 {_pct(values, 0.99) * 1000:7.2f} ms"
        )
    print(
        f"  ratio with/without   p50 {_pct(on, 0.5) / _pct(off, 0.5):5.2f}x   "
        f"p99 {_pct(on, 0.99) / _pct(off, 0.99):5.2f}x"
    )
    print(
        f"  inside push: notarise (log append, proof, SET, checkpoint, TSA) p50 "
        f"{statistics.median(spent['notarise']) * 1000:.2f} ms, of which TSA timestamp p50 "
        f"{statistics.median(spent['tsa']) * 1000:.2f} ms; {len(spent['notarise'])} "
        "notarisations (attestation + VSA per push)"
    )


if __name__ == "__main__":
    main()
