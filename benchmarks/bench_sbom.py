"""Validating and summarising a 100k-component CycloneDX JSON SBOM (issue 3: <= 3 s).

Generates the SBOM (CycloneDX 1.6, each component with purl, license, hash, external
reference and property: about 80 MB) in a temp dir, then times, in the same process and run:

- baseline: ``json.load`` of the file (parsing alone, nothing validated);
- ``SBOM_CYCLONEDX_JSON`` craft: read once, digest, parse, schema-validate, summarise.

Prints each median and the ratio craft / baseline, and the peak RSS of the process.

    python benchmarks/bench_sbom.py [--components 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler


def make_sbom(path: Path, count: int) -> None:
    """A schema-valid CycloneDX 1.6 BOM of ``count`` npm libraries."""
    components: list[dict[str, Any]] = []
    for i in range(count):
        version = f"1.{i % 100}.{i % 7}"
        purl = f"pkg:npm/pkg-{i}@{version}"
        components.append(
            {
                "type": "library",
                "bom-ref": purl,
                "name": f"pkg-{i}",
                "version": version,
                "description": "A library in a very large software bill of materials",
                "purl": purl,
                "licenses": [{"license": {"id": "MIT"}}],
                "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
                "externalReferences": [{"type": "website", "url": f"https://example.com/{i}"}],
                "properties": [{"name": "cdx:npm:package:path", "value": f"node_modules/{i}"}],
            }
        )
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "tools": {"components": [{"type": "application", "name": "bench", "version": "1"}]},
            "component": {"type": "application", "name": "big-app", "version": "1.0.0"},
        },
        "components": components,
        "dependencies": [{"ref": c["bom-ref"], "dependsOn": []} for c in components],
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)


def _median(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    handler = CycloneDXJsonHandler()
    with tempfile.TemporaryDirectory(prefix="chainproof-bench-") as tmp:
        path = Path(tmp) / "sbom.cdx.json"
        make_sbom(path, args.components)
        size_mb = path.stat().st_size / 1e6
        handler.craft("warm-up", str(path))  # schema load and validator build, once per process

        def baseline() -> None:
            with open(path, encoding="utf-8") as fh:
                json.load(fh)

        def craft() -> None:
            material = handler.craft("sbom", str(path))
            assert material.summary["component_count"] == args.components

        base = _median(baseline, args.rounds)
        crafted = _median(craft, args.rounds)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"SBOM: {args.components} components, {size_mb:.1f} MB CycloneDX 1.6 JSON")
    print(f"baseline json.load       : {base:.2f} s")
    print(f"SBOM_CYCLONEDX_JSON craft: {crafted:.2f} s  (goal <= 3 s)")
    print(f"ratio craft / json.load  : {crafted / base:.2f}x")
    print(f"peak RSS                 : {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
