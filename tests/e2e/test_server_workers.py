"""`chainproof server start --workers 2` on PostgreSQL: two API processes share the port.

Clients push pre-signed bundles concurrently over fresh connections. The JSON log names the
process of every line: the pushes were answered by two distinct worker processes, children
of the process the command started; the transparency log is gapless and every entry's
inclusion proof verifies against the final checkpoint; the periodic jobs ran once, in the
supervising process only (it expired the run left unpushed); and ``/metrics``, whichever worker
answers it, counts the requests of both and the job passes of the supervisor.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import Server, _base_env, api_get, init_server, run_server
from tests.pg import pg_database

from chainproof.core.merkle import leaf_hash, verify_inclusion
from chainproof.core.statement import PREDICATE_TYPE
from chainproof.signing.ca import identity_uri
from chainproof.signing.checkpoint import verify_checkpoint
from chainproof.signing.signer import EphemeralSigner
from chainproof.signing.trust import TrustedRoot

pytestmark = pytest.mark.postgres

CONTRACT = Path(__file__).parent.parent / "integration" / "assets" / "contract-artifact.yaml"
PUSHES = 8
CLIENTS = 4
EXPIRY = 4  # seconds an unpushed run lives


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("workers")
    with contextlib.ExitStack() as stack:
        env = _base_env(tmp) | {
            "CHAINPROOF_DATABASE_URL": stack.enter_context(
                contextlib.contextmanager(pg_database)()
            ),
            "CHAINPROOF_LOG_FORMAT": "json",
            "CHAINPROOF_RUN_EXPIRY_SECONDS": str(EXPIRY),
            "CHAINPROOF_EXPIRY_CHECK_SECONDS": "0.5",
        }
        token = str(init_server(tmp / "data", env)["token"])
        log = tmp / "server.log"
        server = stack.enter_context(
            contextlib.contextmanager(run_server)(tmp / "data", env, token, log, "--workers", "2")
        )
        yield server, log


def _post(server: Server, path: str, body: Any) -> Any:
    # A fresh connection per request: the kernel hands each to whichever worker accepts it.
    answer = httpx.post(
        f"{server.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=60,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def _start_run(server: Server) -> dict[str, Any]:
    body = {"workflow": "build", "project": "p", "runner": {"type": "GENERIC", "env": {}}}
    return dict(_post(server, "/runs", body))


def _push(server: Server) -> dict[str, Any]:
    """What a CI job does: a run, its certificate, a signed attestation, the push."""
    init = _start_run(server)
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
    csr = signer.csr(identity_uri("acme", "p", "build", run["id"])).decode()
    chain = _post(server, "/signing/certificates", {"run_id": run["id"], "csr": csr})["chain"]
    bundle = signer.sign(statement, [c.encode() for c in chain]).to_dict()
    return dict(_post(server, f"/runs/{run['id']}/attestation", {"bundle": bundle}))


def _records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _ready_workers(log: Path) -> set[int]:
    done = "Application startup complete."
    return {r["pid"] for r in _records(log) if r["message"] == done}


def _parent_of(pid: int) -> int:
    # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, not ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1])


def test_two_workers_share_the_port_one_log_and_one_set_of_jobs(
    workers: tuple[Server, Path],
) -> None:
    server, log = workers
    supervisor = server.process.pid
    # /healthz answered once one worker was up: wait for the second too.
    deadline = time.monotonic() + 60
    while len(_ready_workers(log)) < 2:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    assert supervisor not in _ready_workers(log)
    _post(server, "/projects", {"name": "p"})
    _post(server, "/contracts", {"name": "c", "raw": CONTRACT.read_text()})
    _post(server, "/workflows", {"name": "build", "project": "p", "contract": "c"})

    with ThreadPoolExecutor(CLIENTS) as pool:
        pushed = list(pool.map(lambda _: _push(server), range(PUSHES)))
    assert len(pushed) == PUSHES
    lonely = _start_run(server)["run"]["id"]  # never pushed: the expiry job's

    # Both workers answered (24 requests over fresh connections), children of the supervisor.
    records = _records(log)
    answered = {r["pid"] for r in records if r["logger"] == "chainproof.access"}
    assert answered == _ready_workers(log)
    assert {_parent_of(pid) for pid in answered} == {supervisor}

    # One gapless log: an attestation and its VSA per push, each index once, every entry
    # included in the final signed tree.
    size = 2 * PUSHES
    head = api_get(server, "/tlog/checkpoint")
    assert head["tree_size"] == size
    (tlog,) = TrustedRoot.from_json(api_get(server, "/trust/root")).tlogs
    final = verify_checkpoint(head["checkpoint"], tlog)
    entries = [api_get(server, f"/tlog/entries/{i}") for i in range(size)]
    assert [int(e["logIndex"]) for e in entries] == list(range(size))
    bodies = [base64.b64decode(e["canonicalizedBody"]) for e in entries]
    assert len(set(bodies)) == size
    for index, (entry, body) in enumerate(zip(entries, bodies, strict=True)):
        hashes = [base64.b64decode(h) for h in entry["inclusionProof"]["hashes"]]
        verify_inclusion(index, size, leaf_hash(body), hashes, final.root_hash)

    # The jobs ran once, in the supervisor: it expired the unpushed run.
    deadline = time.monotonic() + EXPIRY + 10
    while api_get(server, f"/runs/{lonely}")["status"] != "expired":
        assert time.monotonic() < deadline, "no process expired the run"
        time.sleep(0.5)
    expiries = [r for r in _records(log) if r["message"].startswith("expired ")]
    assert expiries and {r["pid"] for r in expiries} == {supervisor}

    # /metrics sums every process, whichever worker answers: all the pushes, and the job
    # passes, which only the supervisor made.
    for _ in range(6):
        scrape = httpx.get(f"{server.url}/metrics", timeout=30).text
        assert _sample(scrape, 'chainproof_pushes_total{outcome="accepted"}') == PUSHES
        last_success = re.findall(
            r'^chainproof_job_last_success_timestamp_seconds\{job="run_expiry",pid="(\d+)"\}',
            scrape,
            re.M,
        )
        assert last_success == [str(supervisor)]


def _sample(scrape: str, series: str) -> float:
    (value,) = re.findall(rf"^{re.escape(series)} (\S+)$", scrape, re.M)
    return float(value)
