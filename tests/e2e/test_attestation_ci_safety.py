"""CI safety of the attestation commands: concurrent jobs on one machine keep their own
state, and a push whose answer was lost is finished by running push again."""

from __future__ import annotations

import base64
import json
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Cli, Server
from tests.e2e.test_attestation_flow import CONTRACT, SBOM, _setup_workflow


def _job_cli(cli: Cli, tmpdir: Path, **env: str) -> Cli:
    """The CLI as a CI job sees it: no state directory chosen, ``env`` added."""
    base = {k: v for k, v in cli.env.items() if k != "CHAINPROOF_STATE_DIR"}
    return Cli(env={**base, "TMPDIR": str(tmpdir), **env}, cwd=cli.cwd)


def _both(step: Callable[[str], Any]) -> list[Any]:
    """Run ``step`` for jobs "a" and "b" at the same time; their results in that order."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(step, ["a", "b"]))


def _payload(bundle: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"])))


def test_concurrent_gitlab_jobs_on_one_machine_keep_their_own_attestation(
    cli: Cli, tmp_path: Path
) -> None:
    robot = _setup_workflow(cli, "concurrent")
    tmpdir = tmp_path / "tmp"  # the machine's temp dir, shared by both jobs
    tmpdir.mkdir()
    jobs = {
        "a": _job_cli(cli, tmpdir, GITLAB_CI="true", CI_JOB_ID="101"),
        "b": _job_cli(cli, tmpdir, GITLAB_CI="true", CI_JOB_ID="102"),
    }
    images = {job: f"registry.example.com/acme/{job}@sha256:" + job * 64 for job in jobs}

    def init(job: str) -> Any:
        args = ("attestation", "init", "--workflow", "build", "--project", "concurrent")
        return json.loads(jobs[job](*args, "-o", "json", token=robot).stdout)["run_id"]

    def add(job: str) -> None:
        run = jobs[job]
        run("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
        run("attestation", "add", "--name", "image", "--value", images[job], token=robot)
        run("attestation", "add", "--name", "version", "--value", f"1.0-{job}", token=robot)

    def push(job: str) -> dict[str, Any]:
        out = tmp_path / f"bundle-{job}.json"
        jobs[job]("attestation", "push", "--bundle", str(out), token=robot)
        return dict(json.loads(out.read_text()))

    run_ids = _both(init)
    assert run_ids[0] != run_ids[1]
    assert sorted(p.name for p in tmpdir.glob("chainproof-attestation*")) == [
        "chainproof-attestation-gitlab-pipeline-101.json",
        "chainproof-attestation-gitlab-pipeline-102.json",
    ]
    _both(add)
    bundles = _both(push)
    assert bundles[0] != bundles[1]
    for job, run_id, bundle in zip("ab", run_ids, bundles, strict=True):
        statement = _payload(bundle)
        assert statement["predicate"]["workflow"]["runID"] == run_id
        described = cli.json("workflow", "run", "describe", "--id", run_id)
        assert isinstance(described, dict) and described["status"] == "succeeded"
        by_name = {m["name"]: m for m in described["materials"]}
        assert by_name["image"]["digest"] == "sha256:" + job * 64
        assert by_name["version"]["value"] == f"1.0-{job}"
    assert list(tmpdir.glob("chainproof-attestation*")) == []  # each push cleared its own


def test_a_ci_job_without_a_job_id_is_refused(cli: Cli, tmp_path: Path) -> None:
    job = _job_cli(cli, tmp_path, GITLAB_CI="true")
    args = ("attestation", "init", "--workflow", "wf", "--project", "nojobid")
    args += ("--contract", str(CONTRACT))
    refused = job(*args, check=False)
    assert refused.returncode == 2
    assert "CI_JOB_ID" in refused.stderr and "--state-dir" in refused.stderr
    job(*args, "--state-dir", str(tmp_path / "state"))
    assert (tmp_path / "state" / "chainproof-attestation.json").exists()


class LosingProxy:
    """A loopback HTTP proxy to ``upstream`` that forwards every request and relays every
    answer, except a push's: the server gets it and answers, the client only sees the
    connection close (a response lost on the way back)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.pushes_forwarded = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            while request := _read_message(client):
                with socket.create_connection(self.upstream) as server:
                    server.sendall(request)
                    answer = _read_message(server)
                if re.match(rb"POST /api/v1/runs/[^/ ]+/attestation ", request):
                    self.pushes_forwarded += 1
                    return  # the server stored it; the client never hears back
                client.sendall(answer)


def _read_message(sock: socket.socket) -> bytes:
    """One HTTP/1.1 message (head and Content-Length body); b"" when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(found.group(1)) if found else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def losing_proxy(server: Server) -> Iterator[LosingProxy]:
    proxy = LosingProxy(server.url)
    yield proxy
    proxy.close()


def _stored_rows(server: Server, run_id: str) -> tuple[int, int, int]:
    """(attestations, verification summaries, transparency-log entries) the server's database
    holds for the run."""
    counts = []
    with sqlite3.connect(server.data_dir / "chainproof.db") as db:
        for table in ("attestations", "verification_summaries", "tlog_leaves"):
            query = f"SELECT count(*) FROM {table} WHERE run_id = ?"  # noqa: S608 - fixed names
            counts.append(int(db.execute(query, (run_id,)).fetchone()[0]))
    return counts[0], counts[1], counts[2]


def test_a_push_whose_answer_was_lost_is_finished_by_pushing_again(
    cli: Cli, server: Server, losing_proxy: LosingProxy, tmp_path: Path
) -> None:
    robot = _setup_workflow(cli, "retried")
    init = cli.json(
        "attestation", "init", "--workflow", "build", "--project", "retried", token=robot
    )
    assert isinstance(init, dict)
    run_id = init["run_id"]
    image = "registry.example.com/acme/retried@sha256:" + "c" * 64
    cli("attestation", "add", "--name", "sbom", "--value", str(SBOM), token=robot)
    cli("attestation", "add", "--name", "image", "--value", image, token=robot)
    cli("attestation", "add", "--name", "version", "--value", "2.0", token=robot)

    lost = cli(
        "attestation", "push", token=robot, check=False,
        CHAINPROOF_URL=losing_proxy.url, CHAINPROOF_RETRY_TIMEOUT="3",
    )  # fmt: skip
    assert lost.returncode != 0
    assert "cannot reach" in lost.stderr
    assert losing_proxy.pushes_forwarded >= 1  # the server did get (and store) the push
    state = json.loads((tmp_path / "state" / "chainproof-attestation.json").read_text())
    signed = state["pending_push"]["bundle"]
    first = cli.json("workflow", "run", "describe", "--id", run_id)
    assert isinstance(first, dict) and first["status"] == "succeeded"

    bundle_file = tmp_path / "bundle.json"
    again = cli("attestation", "push", "--bundle", str(bundle_file), token=robot)
    assert f"run {run_id}" in again.stdout
    assert "resending the attestation" in again.stderr
    assert not (tmp_path / "state" / "chainproof-attestation.json").exists()

    stored = json.loads(cli("workflow", "run", "describe", "--id", run_id, "-o", "bundle").stdout)
    returned = json.loads(bundle_file.read_text())
    assert returned == stored  # the retry answered with what the first push stored
    assert stored["dsseEnvelope"] == signed["dsseEnvelope"]  # sent again, not signed again
    final = cli.json("workflow", "run", "describe", "--id", run_id)
    assert isinstance(final, dict)
    assert final["attestation_digest"] == first["attestation_digest"]
    # One attestation and its VSA, each logged once: the retries recorded nothing more.
    assert _stored_rows(server, run_id) == (1, 1, 2)
    runs = cli.json("workflow", "run", "list", "--project", "retried")
    assert isinstance(runs, list) and [r["id"] for r in runs] == [run_id]
