"""The commands the Helm chart's pods run, run here as the pods would run them.

`helm template` renders deploy/helm/chainproof against a throw-away PostgreSQL database and an
S3 bucket on moto_server (a stand-in for S3). The install Job's script runs with the Job's
rendered environment (Secret references resolved from the rendered Secret): it creates the
organisation, prints the owner token and makes the bucket the default CAS backend; run again it
does nothing. Then the API and worker containers' arguments run over a data dir holding only
the mounted secret.key, and an upload through the API lands in the bucket. What is not run:
the image build and a Kubernetes cluster (docs/deployment.md says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from tests.cas_servers import free_port, start_moto
from tests.deploy_files import S3_VALUES, by_kind, render
from tests.e2e.conftest import CLI, _base_env
from tests.pg import pg_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc["spec"]["template"]["spec"]["containers"][0])


def _pod_env(container: dict[str, Any], secret: dict[str, str]) -> dict[str, str]:
    """The container's environment, its secretKeyRefs read from the rendered Secret."""
    env = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            env[item["name"]] = secret[item["valueFrom"]["secretKeyRef"]["key"]]
    return env


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_install_job_then_api_and_worker_pods(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(contextlib.contextmanager(pg_database)())
        endpoint = stack.enter_context(contextlib.contextmanager(start_moto)(tmp_path))
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="evidence")
        port = free_port()
        url = f"http://127.0.0.1:{port}"  # the Ingress's address, here the API's own
        docs = by_kind(
            render(
                S3_VALUES
                | {
                    "database.url": database_url,
                    "cas.s3.endpoint": endpoint,
                    "cas.s3.accessKeyId": "testing",
                    "cas.secret": "testing",
                    "organisation": "acme",
                    "publicUrl": url,
                    # Two API processes per pod, small pools: the real CLI takes them.
                    "api.workers": "2",
                    "database.poolSize": "2",
                    "database.maxOverflow": "1",
                }
            )
        )
        secret = docs["Secret", "cp-chainproof"]["stringData"]
        base = _base_env(tmp_path)

        # The install Job, twice: the second finds the organisation and does nothing.
        job_c = _container(docs["Job", "cp-chainproof-install"])
        outputs = []
        for attempt in range(2):
            env = base | _pod_env(job_c, secret)
            env |= {
                "CHAINPROOF_INIT_DIR": str(tmp_path / f"init-{attempt}"),
                "CHAINPROOF_INIT_PORT": str(free_port()),
            }
            job = subprocess.run(
                job_c["command"], env=env, capture_output=True, text=True, timeout=240, check=False
            )
            assert job.returncode == 0, job.stdout + job.stderr
            outputs.append(job.stdout)
        lines = outputs[0].splitlines()
        token = lines[lines.index(next(x for x in lines if "owner token" in x)) + 1]
        assert "s3 is the default CAS backend of acme" in outputs[0]
        assert "organisation acme exists already: nothing to do" in outputs[1]

        # The pods' data dir: an emptyDir with the Secret's secret-key mounted as secret.key.
        data_dir = tmp_path / "pod-data"
        data_dir.mkdir()
        (data_dir / "secret.key").write_text(secret["secret-key"])
        api_c = _container(docs["Deployment", "cp-chainproof-api"])
        args = [a if a != "0.0.0.0" else "127.0.0.1" for a in api_c["args"]]  # noqa: S104
        args[args.index("--port") + 1] = str(port)
        assert args[args.index("--data-dir") + 1] == "/var/lib/chainproof"
        args[args.index("--data-dir") + 1] = str(data_dir)
        api_env = base | _pod_env(api_c, secret)
        api = stack.enter_context(_process([CLI, *args], api_env, tmp_path / "api.log"))
        worker_c = _container(docs["Deployment", "cp-chainproof-worker"])
        worker_args = [str(data_dir) if a == "/var/lib/chainproof" else a for a in worker_c["args"]]
        worker_env = base | _pod_env(worker_c, secret)
        worker = stack.enter_context(
            _process([CLI, *worker_args], worker_env, tmp_path / "worker.log")
        )

        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            assert api.poll() is None, (tmp_path / "api.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        api_log = (tmp_path / "api.log").read_text()
        assert "periodic jobs off, 2 API worker processes" in api_log, api_log

        cli_env = base | {"CHAINPROOF_URL": url, "CHAINPROOF_TOKEN": token}
        blob = tmp_path / "evidence.txt"
        blob.write_bytes(os.urandom(4096))
        upload = subprocess.run(
            [CLI, "artifact", "upload", str(blob)],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert upload.returncode == 0, upload.stdout + upload.stderr
        digest = hashlib.sha256(blob.read_bytes()).hexdigest()
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="evidence").get("Contents", [])]
        assert any(digest in key for key in keys), keys

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()
