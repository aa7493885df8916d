"""Several API processes over one PostgreSQL database share one transparency log.

Three `chainproof server start` processes run on one data dir and one PostgreSQL database,
as stateless API replicas behind a load balancer would. CI jobs push in parallel, spread
over the three. Afterwards the log holds every index 0..N-1 exactly once (an attestation
and its VSA per push: no fork, no gap, no duplicate), every bundle's entry is the logged
one and its inclusion proof verifies against the final signed checkpoint, and the tree each
bundle's checkpoint saw is consistent with the final tree.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Cli, Server, _base_env, api_get, init_server, run_server
from tests.e2e.test_attestation_flow import IMAGE, SBOM, _setup_workflow
from tests.pg import pg_database

from chainproof.core.merkle import leaf_hash, verify_consistency, verify_inclusion
from chainproof.signing.checkpoint import verify_checkpoint
from chainproof.signing.trust import TrustedRoot

pytestmark = pytest.mark.postgres

REPLICAS = 3
PUSHES = 9
PARALLEL = 6


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """`server init` once on PostgreSQL, then ``REPLICAS`` processes serving it."""
    tmp = tmp_path_factory.mktemp("replicas")
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(contextlib.contextmanager(pg_database)())
        env = _base_env(tmp) | {"CHAINPROOF_DATABASE_URL": database_url}
        data_dir = tmp / "data"
        init = init_server(data_dir, env)
        assert init["database_url"] == database_url
        token = str(init["token"])
        servers = [
            stack.enter_context(
                contextlib.contextmanager(run_server)(data_dir, env, token, tmp / f"server-{i}.log")
            )
            for i in range(REPLICAS)
        ]
        yield servers


def _cli(server: Server, tmp: Path) -> Cli:
    from tests.e2e.conftest import cli_for

    tmp.mkdir(parents=True, exist_ok=True)
    return cli_for(server, tmp)


def test_parallel_pushes_over_replicas_give_one_gapless_log(
    replicas: list[Server], tmp_path: Path
) -> None:
    robot = _setup_workflow(_cli(replicas[0], tmp_path / "admin"), "replicas")

    def job(n: int) -> dict[str, Any]:
        # Each job talks to one replica only: its run opens, uploads and pushes there.
        cli = _cli(replicas[n % REPLICAS], tmp_path / f"job-{n}")
        cli("attestation", "init", "--workflow", "build", "--project", "replicas", token=robot)
        cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
        cli("attestation", "add", "--name", "image", "--value", IMAGE, token=robot)
        cli("attestation", "add", "--name", "version", "--value", f"1.0.{n}", token=robot)
        out = cli.cwd / "bundle.json"
        cli("attestation", "push", "--bundle", str(out), token=robot)
        return dict(json.loads(out.read_text()))

    with ThreadPoolExecutor(PARALLEL) as pool:
        bundles = list(pool.map(job, range(PUSHES)))

    size = 2 * PUSHES  # each push logs its attestation, then the VSA the server issues
    head = api_get(replicas[1], "/tlog/checkpoint")
    assert head["tree_size"] == size
    (log,) = TrustedRoot.from_json(api_get(replicas[2], "/trust/root")).tlogs
    final = verify_checkpoint(head["checkpoint"], log)
    assert final.tree_size == size

    # Every index appears once, each entry's proof against the final tree verifies.
    entries = [api_get(replicas[i % REPLICAS], f"/tlog/entries/{i}") for i in range(size)]
    assert [int(e["logIndex"]) for e in entries] == list(range(size))
    bodies = [base64.b64decode(e["canonicalizedBody"]) for e in entries]
    assert len(set(bodies)) == size
    for index, (entry, body) in enumerate(zip(entries, bodies, strict=True)):
        proof = entry["inclusionProof"]
        assert int(proof["treeSize"]) == size  # nothing was pushed after the checkpoint
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(index, size, leaf_hash(body), hashes, final.root_hash)

    # Each bundle holds the logged entry; the tree its checkpoint names is a prefix of the
    # final tree, and its entry is included in the final tree.
    indexes = set()
    for bundle in bundles:
        (entry,) = bundle["verificationMaterial"]["tlogEntries"]
        index = int(entry["logIndex"])
        indexes.add(index)
        assert entry["canonicalizedBody"] == entries[index]["canonicalizedBody"]
        seen = verify_checkpoint(entry["inclusionProof"]["checkpoint"]["envelope"], log)
        assert seen.tree_size == int(entry["inclusionProof"]["treeSize"]) > index
        hashes = [base64.b64decode(h) for h in entry["inclusionProof"]["hashes"]]
        verify_inclusion(index, seen.tree_size, leaf_hash(bodies[index]), hashes, seen.root_hash)
        consistency = api_get(
            replicas[index % REPLICAS], "/tlog/proof/consistency", first=seen.tree_size, second=size
        )
        assert base64.b64decode(consistency["first_root_hash"]) == seen.root_hash
        verify_consistency(
            seen.tree_size,
            size,
            seen.root_hash,
            final.root_hash,
            [base64.b64decode(h) for h in consistency["hashes"]],
        )
    assert len(indexes) == PUSHES  # nine distinct attestation entries, no two pushes share one
