"""Policy evaluation per material: a 2,000-component CycloneDX SBOM, every SBOM policy.

Attaches the built-in SBOM policies (sbom-ntia, sbom-banned-licenses, sbom-freshness) to a
contract, crafts a generated SBOM once (not timed), then times
``PolicyVerifier.verify_material`` (read the file, project it, evaluate the three policies):

- cold: a new engine each round (worker process started, Rego compiled, material sent),
  policy documents loaded and checked again: what one ``chainproof attestation add`` pays;
- cached: one engine, policies compiled once; each round a different SBOM (another serial
  number and versions), so the material is parsed and sent each time: a long-lived process
  (the control plane) evaluating new materials;
- same material: the cached engine given the same SBOM again (the worker reuses its input).

Prints the p50 (and p90) of each, in milliseconds, and its ratio to a baseline measured in
the same run: ``json.load`` of the same SBOM file (the least any evaluation must do).

    python benchmarks/bench_policy.py [--components 2000] [--rounds 15]
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

from chainproof.core.contract import Contract
from chainproof.core.materials import craft
from chainproof.core.materials.base import CraftedMaterial
from chainproof.policy import PolicyLoader, PolicyVerifier, RegoEngine, engine

CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: bench}
spec:
  materials:
    - {type: SBOM_CYCLONEDX_JSON, name: sbom}
  policies:
    materials:
      - ref: sbom-ntia
      - ref: sbom-banned-licenses
        with: {licenses: "AGPL-3.0-only, SSPL-1.0, GPL-3.0-only"}
      - ref: sbom-freshness
        with: {max_age_days: "36500"}
"""
LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0"]


def make_sbom(path: Path, count: int, variant: int) -> None:
    """A CycloneDX 1.6 BOM of ``count`` npm libraries with NTIA elements and a dependency
    graph; ``variant`` changes versions and serial number (a different document)."""
    components: list[dict[str, Any]] = []
    for i in range(count):
        version = f"{variant}.{i % 100}.{i % 7}"
        purl = f"pkg:npm/pkg-{i}@{version}"
        components.append(
            {
                "type": "library",
                "bom-ref": purl,
                "supplier": {"name": f"maintainers of pkg-{i}"},
                "name": f"pkg-{i}",
                "version": version,
                "purl": purl,
                "licenses": [{"license": {"id": LICENSES[i % len(LICENSES)]}}],
                "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
            }
        )
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:3e671687-395b-41f5-a30f-{variant:012d}",
        "version": 1,
        "metadata": {
            "timestamp": "2026-01-01T00:00:00Z",
            "authors": [{"name": "bench"}],
            "tools": {"components": [{"type": "application", "name": "bench", "version": "1"}]},
            "component": {"type": "application", "name": "big-app", "version": "1.0.0"},
        },
        "components": components,
        "dependencies": [
            {"ref": c["bom-ref"], "dependsOn": [components[(i + 1) % count]["bom-ref"]]}
            for i, c in enumerate(components)
        ],
    }
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def _times(fn: Callable[[int], None], rounds: int) -> list[float]:
    out = []
    for n in range(rounds):
        start = time.perf_counter()
        fn(n)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _report(label: str, times: list[float], baseline: float | None = None) -> float:
    p50 = statistics.median(times)
    p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 2 else max(times)
    ratio = f"   {p50 / baseline:6.1f}x json.load" if baseline else ""
    print(f"{label:<14} p50 {p50:8.1f} ms   p90 {p90:8.1f} ms   ({len(times)} rounds){ratio}")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    contract = Contract.parse(CONTRACT, source="bench")

    with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
        materials: list[CraftedMaterial] = []
        for variant in range(args.rounds + 1):
            path = Path(tmp) / f"sbom-{variant}.json"
            make_sbom(path, args.components, variant)
            materials.append(craft("sbom", str(path), "SBOM_CYCLONEDX_JSON"))
        size = materials[0].upload_path.stat().st_size if materials[0].upload_path else 0
        print(f"SBOM: {args.components} components, {size / 1e6:.1f} MB, 3 policies")

        def parse_only(n: int) -> None:
            path = materials[n].upload_path
            assert path is not None
            with path.open("rb") as f:
                json.load(f)

        baseline = _report("json.load", _times(parse_only, args.rounds))

        def cold(n: int) -> None:
            engine._PREPARED.clear()
            with RegoEngine() as fresh:
                verifier = PolicyVerifier.for_contract(
                    contract, engine=fresh, loader=PolicyLoader()
                )
                evaluations = verifier.verify_material(materials[0])
            assert len(evaluations) == 3 and all(e.passed for e in evaluations), evaluations

        _report("cold", _times(cold, args.rounds), baseline)

        with RegoEngine() as shared:
            verifier = PolicyVerifier.for_contract(contract, engine=shared)
            verifier.verify_material(materials[-1])  # compile once

            def cached(n: int) -> None:
                evaluations = verifier.verify_material(materials[n])
                assert all(e.passed for e in evaluations), evaluations

            _report("cached", _times(cached, args.rounds), baseline)
            _report("same material", _times(lambda n: cached(0), args.rounds), baseline)


if __name__ == "__main__":
    main()
