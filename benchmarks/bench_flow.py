"""Wall time of the CI-side flow (init -> 3 adds -> push) and of `chainproof --help`.

Each figure is printed with its ratio to a bare `python -c pass` measured in the same run,
so numbers from different machines compare. Starts its own embedded server on a loopback
port and stops it at the end.

    python benchmarks/bench_flow.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = shutil.which("chainproof", path=str(Path(sys.executable).parent)) or "chainproof"
SBOM = ROOT / "tests" / "assets" / "materials" / "cyclonedx-1.6.json"
CONTRACT = ROOT / "tests" / "assets" / "e2e" / "contract.yaml"
IMAGE = "registry.example.com/acme/app@sha256:" + "b" * 64


def _run(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def _timed(fn: object, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds

    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    env["CHAINPROOF_STATE_DIR"] = str(tmp / "state")
    data = tmp / "data"
    token = json.loads(
        _run([CLI, "server", "init", "--data-dir", str(data), "--org", "bench", "-o", "json"], env)
    )["token"]
    port = _port()
    server = subprocess.Popen(
        [CLI, "server", "start", "--data-dir", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        env.update(CHAINPROOF_URL=url, CHAINPROOF_TOKEN=token)
        _run([CLI, "workflow", "contract", "create", "--name", "rel", "-f", str(CONTRACT)], env)
        _run(
            [
                CLI,
                "attestation",
                "init",
                "--workflow",
                "w",
                "--project",
                "bench",
                "--contract",
                "rel",
                "--replace",
            ],
            env,
        )
        _run([CLI, "attestation", "reset", "--trigger", "cancellation"], env)

        def flow() -> None:
            _run([CLI, "attestation", "init", "--workflow", "w", "--project", "bench"], env)
            _run([CLI, "attestation", "add", "--name", "sbom", "--value", str(SBOM)], env)
            _run([CLI, "attestation", "add", "--name", "image", "--value", IMAGE], env)
            _run([CLI, "attestation", "add", "--name", "version", "--value", "1.0"], env)
            _run([CLI, "attestation", "push"], env)

        baseline = statistics.median(
            _timed(lambda: _run([sys.executable, "-c", "pass"], env), rounds * 2)
        )
        help_t = statistics.median(_timed(lambda: _run([CLI, "--help"], env), rounds * 2))
        flow_t = statistics.median(_timed(flow, rounds))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"baseline  python -c pass          : {baseline * 1000:8.1f} ms")
    print(
        f"chainproof --help                  : {help_t * 1000:8.1f} ms"
        f"  ({help_t / baseline:.1f}x baseline)"
    )
    print(
        f"flow init + 3 adds + push (5 procs): {flow_t * 1000:8.1f} ms"
        f"  ({flow_t / baseline:.1f}x baseline, {flow_t / (5 * baseline):.1f}x per process)"
    )


if __name__ == "__main__":
    main()
