"""deploy/Containerfile, checked without a container engine (none runs on our machines).

Parsed with dockerfile-parse: a multi-stage build that installs the ``[server]`` extra into a
venv, a runtime stage that runs as a fixed non-root uid with a HEALTHCHECK. Its ENTRYPOINT +
CMD run here over an initialised data dir (loopback instead of 0.0.0.0, a free port instead of
8000), and its HEALTHCHECK command answers 0 while that server is up and non-zero once it is
gone. Not checked here: that the image builds (no engine, no base image pulls).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from dockerfile_parse import DockerfileParser
from tests.deploy_files import DEPLOY, ROOT
from tests.e2e.conftest import CLI, _base_env, _free_port, init_server

pytestmark = pytest.mark.e2e


def _stages() -> list[list[dict[str, Any]]]:
    parser = DockerfileParser(fileobj=io.BytesIO((DEPLOY / "Containerfile").read_bytes()))
    stages: list[list[dict[str, Any]]] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            stages.append([])
        if stages and item["instruction"] != "COMMENT":
            stages[-1].append(item)
    return stages


def _last(stage: list[dict[str, Any]], instruction: str) -> str:
    values = [i["value"] for i in stage if i["instruction"] == instruction]
    assert values, f"no {instruction} in the stage"
    return str(values[-1])


def test_containerfile_builds_server_extra_and_runs_as_non_root() -> None:
    build, runtime = _stages()
    assert _last(build, "FROM").endswith(" AS build")
    assert re.search(r'pip install [^&]*"\.\[server\]"', _last(build, "RUN"))
    copied = [c for i in build if i["instruction"] == "COPY" for c in i["value"].split()[:-1]]
    for source in ("pyproject.toml", "README.md", "src"):
        assert source in copied
        assert (ROOT / source).exists()
        # .dockerignore keeps only what the build copies.
        assert f"!{source}" in (ROOT / ".dockerignore").read_text()

    user = _last(runtime, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so runAsNonRoot can check it
    assert f"--uid {uid}" in _last(runtime, "RUN")
    assert "--from=build /opt/chainproof /opt/chainproof" in _last(runtime, "COPY")
    assert "PATH=/opt/chainproof/bin:$PATH" in _last(runtime, "ENV")
    assert json.loads(_last(runtime, "ENTRYPOINT")) == ["chainproof"]
    assert "CMD [" in _last(runtime, "HEALTHCHECK")


def _healthcheck(port: int) -> list[str]:
    """The HEALTHCHECK's exec-form command, aimed at ``port``."""
    (_, _, exec_form) = _last(_stages()[1], "HEALTHCHECK").partition("CMD ")
    command = [
        part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in json.loads(exec_form)
    ]
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_image_command_serves_and_healthcheck_follows_it(tmp_path: Path) -> None:
    runtime = _stages()[1]
    command = json.loads(_last(runtime, "ENTRYPOINT")) + json.loads(_last(runtime, "CMD"))
    assert command[:3] == ["chainproof", "server", "start"]
    data_dir = tmp_path / "data"
    env = _base_env(tmp_path)
    init_server(data_dir, env)
    port = _free_port()
    replaced = {"/var/lib/chainproof": str(data_dir), "0.0.0.0": "127.0.0.1", "8000": str(port)}  # noqa: S104
    args = [CLI, *(replaced.get(part, part) for part in command[1:])]
    probe = _healthcheck(port)

    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the healthcheck never passed"
            time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    down = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    assert down.returncode != 0 and "Connection refused" in down.stderr
