"""The cost of refusing duplicate keys (core/jsonload.py) against plain ``json.loads``.

Times, in the same process and run, the baseline ``json.loads`` and ``jsonload.loads`` on:
a small API body (a run init, ~300 bytes), a push-sized bundle-like body (~40 kB) and a
CycloneDX SBOM of ``--components`` components (benchmarks/bench_sbom.py's generator). Prints
each median and the ratio strict / baseline.

    python benchmarks/bench_jsonload.py [--components 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_sbom import make_sbom

from chainproof.core import jsonload


def _median(fn: Callable[[bytes], Any], data: bytes, rounds: int, repeat: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn(data)
        times.append((time.perf_counter() - start) / repeat)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--components", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    body = json.dumps(
        {
            "project": "shop",
            "workflow": "build",
            "project_version": "v1.2.3",
            "runner": {"type": "GITHUB_ACTION", "url": "https://ci/1", "env": {"A": "1"}},
        }
    ).encode()
    bundle = json.dumps(
        {"materials": [{"name": f"m{i}", "digest": "sha256:" + "a" * 64} for i in range(400)]}
    ).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bom.json"
        make_sbom(path, args.components)
        sbom = path.read_bytes()
    for label, data, repeat in (
        ("run init body", body, 2000),
        ("bundle-like body", bundle, 50),
        (f"SBOM {len(sbom) / 1e6:.1f} MB", sbom, 1),
    ):
        base = _median(json.loads, data, args.rounds, repeat)
        strict = _median(jsonload.loads, data, args.rounds, repeat)
        print(
            f"{label:>22}: json.loads {base * 1e3:9.3f} ms  jsonload.loads "
            f"{strict * 1e3:9.3f} ms  ratio {strict / base:.2f}"
        )


if __name__ == "__main__":
    main()
