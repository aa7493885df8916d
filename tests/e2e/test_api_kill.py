"""kill -9 of an API process during concurrent pushes loses no acknowledged push (issue 15).

Two `server start` processes serve one data dir and one PostgreSQL database, as replicas
behind a load balancer would. CI jobs (CLI processes) push in parallel through both; once some
pushes are acknowledged, one process is killed with SIGKILL while others are in flight. Jobs
that have not started yet go to the survivor (the load balancer's part); jobs cut off by the
kill fail, and nothing is asserted about their runs but this: a run is either fully pushed or
not at all. Then a new process replaces the killed one and takes a push.

Afterwards: every push the CLI reported as done is a succeeded run whose stored bundle is the
one the CLI received; the transparency log holds indexes 0..N-1 with no gap and no duplicate,
the entry of every succeeded run's attestation and of every VSA issued, every entry's
inclusion proof verifies against the final signed checkpoint, and each acknowledged bundle's
checkpoint is consistent with the final tree. A log entry is committed before its push's (or
VSA's) rows (group commit, docs/architecture.md §9): a push cut off in between leaves an entry
for something not recorded, at most one per request in flight on the killed process; and a
run whose VSA was cut off (it follows the push's answer) gets it on its first read. Bounded:
8 pushes (and one after), 4 at a time.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import Server, _base_env, api_get, cli_for, init_server, run_server
from tests.e2e.test_attestation_flow import IMAGE, SBOM, _setup_workflow
from tests.pg import pg_database

from chainproof.core.merkle import leaf_hash, verify_consistency, verify_inclusion
from chainproof.signing.checkpoint import verify_checkpoint
from chainproof.signing.trust import TrustedRoot

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PUSHES = 8
PARALLEL = 4
KILL_AFTER = 2  # acknowledged pushes before the kill


@dataclass
class Outcome:
    job: int
    ok: bool
    run_id: str | None
    bundle: dict[str, Any] | None
    via_victim: bool


def test_kill_9_of_an_api_process_loses_no_acknowledged_push(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(contextlib.contextmanager(pg_database)())
        env = _base_env(tmp_path) | {"CHAINPROOF_DATABASE_URL": database_url}
        data_dir = tmp_path / "data"
        token = str(init_server(data_dir, env)["token"])

        def serve(name: str, *args: str) -> Server:
            return stack.enter_context(
                contextlib.contextmanager(run_server)(
                    data_dir, env, token, tmp_path / f"{name}.log", *args
                )
            )

        victim, survivor = serve("victim"), serve("survivor", "--no-jobs")
        (tmp_path / "admin").mkdir()
        robot = _setup_workflow(cli_for(survivor, tmp_path / "admin"), "killp")

        killed = threading.Event()
        lock = threading.Lock()
        acknowledged = 0

        def push(n: int, server: Server) -> Outcome:
            nonlocal acknowledged
            work = tmp_path / f"job-{n}"
            work.mkdir(exist_ok=True)
            cli = cli_for(server, work)
            out = work / "bundle.json"
            steps = [
                ("attestation", "init", "--workflow", "build", "--project", "killp"),
                ("attestation", "add", "--name", "sbom", "--value", str(SBOM)),
                ("attestation", "add", "--name", "image", "--value", IMAGE),
                ("attestation", "add", "--name", "version", "--value", f"2.0.{n}"),
                ("attestation", "push", "--bundle", str(out)),
            ]
            via_victim = server is victim
            for step in steps:
                done = cli(*step, token=robot, check=False)
                if done.returncode != 0:
                    # Only the kill may cut a job short, and only one sent to the victim.
                    assert via_victim and killed.is_set(), done.stdout + done.stderr
                    return Outcome(n, False, None, None, via_victim)
            found = re.search(r"/api/v1/runs/([A-Za-z0-9_-]+)", done.stdout)
            assert found, done.stdout
            with lock:
                acknowledged += 1
                if acknowledged == KILL_AFTER:
                    # Others are mid-way: SIGKILL, no shutdown, no chance to finish a reply.
                    victim.process.send_signal(signal.SIGKILL)
                    killed.set()
            return Outcome(n, True, found.group(1), json.loads(out.read_text()), via_victim)

        def job(n: int) -> Outcome:
            # The load balancer: alternate, and only the survivor once the victim is gone.
            target = victim if n % 2 == 0 and not killed.is_set() else survivor
            return push(n, target)

        with ThreadPoolExecutor(PARALLEL) as pool:
            outcomes = list(pool.map(job, range(PUSHES)))
        assert victim.process.wait(timeout=30) == -signal.SIGKILL
        assert killed.is_set()

        replacement = serve("replacement")
        outcomes.append(push(PUSHES, replacement))
        acked = [o for o in outcomes if o.ok]
        assert len(acked) >= PUSHES // 2 + 1, outcomes
        assert any(o.via_victim for o in acked)  # the victim had acknowledged pushes

        # Every acknowledged push: a succeeded run, holding the bundle the CLI received.
        for o in acked:
            assert o.bundle is not None and o.run_id is not None
            assert api_get(survivor, f"/runs/{o.run_id}")["status"] == "succeeded"
            assert api_get(replacement, f"/runs/{o.run_id}/bundle") == o.bundle

        # Every run is whole: succeeded with a bundle, or never pushed.
        runs = api_get(survivor, "/runs", project="killp", limit=500)["items"]
        assert len(runs) <= PUSHES + 1
        succeeded = [r for r in runs if r["status"] == "succeeded"]
        assert {o.run_id for o in acked} <= {r["id"] for r in succeeded}
        bundles = {r["id"]: api_get(survivor, f"/runs/{r['id']}/bundle") for r in succeeded}

        _check_log(survivor, replacement, bundles, [o.bundle for o in acked if o.bundle])


def _vsa(server: Server, run_id: str) -> dict[str, Any] | None:
    """The run's VSA bundle (issued by this read if the kill cut off the push's follow-up);
    None for a run that has none."""
    answer = httpx.get(
        f"{server.url}/api/v1/runs/{run_id}/vsa",
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=30,
    )
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    return dict(answer.json())


def _check_log(
    a: Server, b: Server, bundles: dict[str, Any], acked_bundles: list[dict[str, Any]]
) -> None:
    """0..N-1, no gap or duplicate, proofs verify; every succeeded run's attestation and every
    VSA issued is logged, and the kill left at most one entry per request in flight."""
    # The VSAs first: a read issues one a follow-up has not (yet), and then the log is still.
    vsas = [_vsa(a, run_id) for run_id in bundles]
    head = api_get(a, "/tlog/checkpoint")
    size = int(head["tree_size"])
    recorded = [*bundles.values(), *(v for v in vsas if v is not None)]
    assert len(recorded) <= size <= len(recorded) + PARALLEL
    (log,) = TrustedRoot.from_json(api_get(b, "/trust/root")).tlogs
    final = verify_checkpoint(head["checkpoint"], log)
    assert final.tree_size == size

    entries = [api_get((a, b)[i % 2], f"/tlog/entries/{i}") for i in range(size)]
    assert [int(e["logIndex"]) for e in entries] == list(range(size))
    bodies = [base64.b64decode(e["canonicalizedBody"]) for e in entries]
    assert len(set(bodies)) == size
    for index, (entry, body) in enumerate(zip(entries, bodies, strict=True)):
        proof = entry["inclusionProof"]
        assert int(proof["treeSize"]) == size
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(index, size, leaf_hash(body), hashes, final.root_hash)

    # Each attestation and VSA is logged; each acknowledged bundle's checkpoint is a prefix.
    for bundle in recorded:
        (entry,) = bundle["verificationMaterial"]["tlogEntries"]
        assert entry["canonicalizedBody"] == entries[int(entry["logIndex"])]["canonicalizedBody"]
    for bundle in acked_bundles:
        (entry,) = bundle["verificationMaterial"]["tlogEntries"]
        seen = verify_checkpoint(entry["inclusionProof"]["checkpoint"]["envelope"], log)
        consistency = api_get(b, "/tlog/proof/consistency", first=seen.tree_size, second=size)
        verify_consistency(
            seen.tree_size,
            size,
            seen.root_hash,
            final.root_hash,
            [base64.b64decode(h) for h in consistency["hashes"]],
        )
