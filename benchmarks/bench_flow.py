"""Wall time of the CI-side flow (init -> 3 adds -> push) and of `chainproof --help`.

Every command is the installed console script in a subprocess, as a CI job runs it. Each
figure (median and 90th percentile) is printed beside baselines measured in the same run (a
bare `python -c pass`, and `python -c "import typer"` / `"import httpx"`: the floor of any
Typer CLI and of one that talks HTTP), so numbers from different machines compare. Starts its
own embedded server on a loopback port (untimed) and stops it at the end.

    python benchmarks/bench_flow.py [--rounds 5]

To compare with another version of the code (same interpreter), put its ``src`` first on
the path: ``python benchmarks/bench_flow.py --before /tmp/old/src`` (after ``git archive
COMMIT src | tar -x -C /tmp/old``) measures both, alternating, in the same rounds.
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
    parser.add_argument(
        "--before",
        type=Path,
        help="src directory of another version, measured alternately in the same run",
    )
    args = parser.parse_args()
    rounds, before = args.rounds, args.before

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

        figures = _measure(rounds, env, before)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    _report(figures)


STEPS = {
    "init": ["attestation", "init", "--workflow", "w", "--project", "bench"],
    "add sbom": ["attestation", "add", "--name", "sbom", "--value", str(SBOM)],
    "add image": ["attestation", "add", "--name", "image", "--value", IMAGE],
    "add version": ["attestation", "add", "--name", "version", "--value", "1.0"],
    "push": ["attestation", "push"],
}


def _measure(rounds: int, env: dict[str, str], before: Path | None) -> dict[str, list[float]]:
    """Samples per figure; with ``before``, that code is measured in the same rounds,
    alternating with this one, so that both see the same machine load."""
    variants = {"": env}
    if before is not None:
        variants[" [before]"] = {**env, "PYTHONPATH": str(before)}
    baselines = {
        "baseline python -c pass": [sys.executable, "-c", "pass"],
        "baseline import typer": [sys.executable, "-c", "import typer"],
        "baseline import httpx": [sys.executable, "-c", "import httpx"],
    }
    figures: dict[str, list[float]] = {}

    def timed(name: str, args: list[str], run_env: dict[str, str]) -> float:
        start = time.perf_counter()
        _run(args, run_env)
        elapsed = time.perf_counter() - start
        figures.setdefault(name, []).append(elapsed)
        return elapsed

    for _ in range(rounds):
        for _ in range(2):
            for name, args in baselines.items():
                timed(name, args, env)
            for tag, run_env in variants.items():
                timed(f"chainproof --help{tag}", [CLI, "--help"], run_env)
        for tag, run_env in variants.items():
            total = sum(timed(f"  {s}{tag}", [CLI, *a], run_env) for s, a in STEPS.items())
            figures.setdefault(f"flow init + 3 adds + push{tag}", []).append(total)
    return figures


def _report(figures: dict[str, list[float]]) -> None:
    base = _stats(figures["baseline python -c pass"])[0]
    print(f"{'':44} {'median':>9} {'p90':>9}  (median / python -c pass)")
    flows = [n for n in figures if n.startswith("flow")]
    steps = [n for n in figures if n.startswith("  ")]
    others = [n for n in figures if n not in flows and n not in steps]
    for name in [*others, *flows, *sorted(steps, key=lambda n: n.endswith("]"))]:
        median, p90 = _stats(figures[name])
        print(f"{name:44} {median:7.1f}ms {p90:7.1f}ms  ({median / base:5.1f}x)")


if __name__ == "__main__":
    main()
