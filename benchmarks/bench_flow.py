"""Wall time of the CI-side flow (init -> 3 adds -> push) and of `chainproof --help`.

Every command is the installed console script in a subprocess, as a CI job runs it. Each
figure (median and 90th percentile) is printed beside baselines measured in the same run (a
bare `python -c pass`, and `python -c "import typer"` / `"import httpx"`: the floor of any
Typer CLI and of one that talks HTTP), so numbers from different machines compare. Starts its
own embedded server on a loopback port (untimed) and stops it at the end.

    python benchmarks/bench_flow.py [--rounds 5]

To measure another version of the code with the same interpreter, put its ``src`` first on
the path: ``PYTHONPATH=/tmp/old/src python benchmarks/bench_flow.py`` (e.g. after
``git archive COMMIT src | tar -x -C /tmp/old``).
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


def _stats(samples: list[float]) -> tuple[float, float]:
    """Median and 90th percentile (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered) + 0.5) - 1)]
    return statistics.median(ordered) * 1000, p90 * 1000


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

        steps = {
            "init": [CLI, "attestation", "init", "--workflow", "w", "--project", "bench"],
            "add sbom": [CLI, "attestation", "add", "--name", "sbom", "--value", str(SBOM)],
            "add image": [CLI, "attestation", "add", "--name", "image", "--value", IMAGE],
            "add version": [CLI, "attestation", "add", "--name", "version", "--value", "1.0"],
            "push": [CLI, "attestation", "push"],
        }
        per_step: dict[str, list[float]] = {name: [] for name in steps}

        def flow() -> None:
            for name, args in steps.items():
                start = time.perf_counter()
                _run(args, env)
                per_step[name].append(time.perf_counter() - start)

        figures = {
            "baseline python -c pass": _timed(
                lambda: _run([sys.executable, "-c", "pass"], env), rounds * 2
            ),
            "baseline import typer": _timed(
                lambda: _run([sys.executable, "-c", "import typer"], env), rounds * 2
            ),
            "baseline import httpx": _timed(
                lambda: _run([sys.executable, "-c", "import httpx"], env), rounds * 2
            ),
            "chainproof --help": _timed(lambda: _run([CLI, "--help"], env), rounds * 2),
            "flow init + 3 adds + push": _timed(flow, rounds),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    _report(figures, per_step)


def _report(figures: dict[str, list[float]], per_step: dict[str, list[float]]) -> None:
    base = _stats(figures["baseline python -c pass"])[0]
    print(f"{'':34} {'median':>9} {'p90':>9}  (median / python -c pass)")
    for name, samples in [*figures.items(), *((f"  {k}", v) for k, v in per_step.items())]:
        median, p90 = _stats(samples)
        print(f"{name:34} {median:7.1f}ms {p90:7.1f}ms  ({median / base:5.1f}x)")


if __name__ == "__main__":
    main()
