"""Peak memory of the control plane evaluating a gated policy on a large SBOM (issue 15).

Generates a CycloneDX SBOM of about ``--size-mb`` MB and one of the default input limit's
size, then runs, each in a fresh child process (so each peak is its own), the control plane's
own evaluation path (``services/enforcement``: the blob read from a file as the CAS gives it,
the material projected, the gated built-in ``sbom-banned-licenses`` evaluated in a Rego
worker, with a time limit of ``--timeout`` s so that it runs to the end) and reports the
child's peak RSS (VmHWM), its Rego worker's (as the engine's 50 ms polls saw it), the time:

- baseline, no input limit (what the control plane did before: every material up to 256 MB
  was read, parsed and sent to a worker, with the 10 s time limit; the worker keeps the
  memory limit here, else it would take tens of GB);
- default limits, the large SBOM: refused at the input limit before it is read whole;
- default limits, an SBOM just under the input limit: the most one evaluation holds.

    python benchmarks/bench_policy_memory.py [--size-mb 200] [--timeout 120] [--memory-mb 2048]

Measured on the shared 2-core development machine (2026-12-07; times are inflated by load):

    scenario                        SBOM MB  server MB  worker MB      s  outcome
    baseline: no input limit            200       1996        529  135.6  time limit (10 s)
    default limits                      200         54          0    0.1  input limit (16 MiB)
    default limits, at the limit         15        214       1608   80.6  passed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024


def make_sbom(path: Path, size: int) -> None:
    """A CycloneDX 1.6 BOM of about ``size`` bytes (npm libraries, MIT licensed)."""
    with path.open("w") as out:
        out.write('{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[')
        written, i = 0, 0
        while written < size:
            purl = f"pkg:npm/pkg-{i}@1.{i % 100}.{i % 7}"
            item = {
                "type": "library",
                "bom-ref": purl,
                "name": f"pkg-{i}",
                "version": f"1.{i % 100}.{i % 7}",
                "purl": purl,
                "licenses": [{"license": {"id": "MIT"}}],
                "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
            }
            text = ("," if i else "") + json.dumps(item)
            out.write(text)
            written += len(text)
            i += 1
        out.write("]}")


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in bytes (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def child(sbom: Path, limited: bool, timeout: float, memory_mb: int) -> None:
    """One evaluation, as the control plane makes it; prints a JSON line of figures."""
    from chainproof.core.contract import Contract
    from chainproof.core.digest import Digest
    from chainproof.core.statement import MaterialDescriptor
    from chainproof.policy import PolicyLoader, PolicyVerifier
    from chainproof.server.services import enforcement
    from chainproof.server.services.policy_input import Content, Limits

    digest = hashlib.sha256()
    with sbom.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)

    def read_blob(_backend: str | None, _digest: Digest) -> Iterator[bytes]:
        with sbom.open("rb") as f:
            yield from iter(lambda: f.read(CHUNK), b"")

    if limited:
        limits = Limits(timeout=timeout, memory_mb=memory_mb)
    else:  # what the server did before, but for the worker's memory limit (the machine's sake)
        limits = Limits(timeout=10.0, max_input_bytes=256 * 1024 * 1024, memory_mb=memory_mb)
    contract = Contract.parse(
        "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: big}\nspec:\n"
        "  materials: [{type: SBOM_CYCLONEDX_JSON, name: sbom}]\n"
        "  policies:\n    materials:\n"
        "      - {ref: sbom-banned-licenses, with: {licenses: GPL-3.0}, gate: true}\n",
        source="bench",
    )
    verifier = PolicyVerifier.for_contract(contract, loader=PolicyLoader(), engine=limits.engine)
    item = MaterialDescriptor(
        name="sbom",
        kind="SBOM_CYCLONEDX_JSON",
        digest=Digest("sha256", digest.hexdigest()),
        in_cas=True,
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        content = Content(Path(scratch), read_blob, {}, limits.max_input_bytes)
        checked = list(
            enforcement._material(verifier, item, content, "enforced", False, limits.slots)
        )
    seconds = time.perf_counter() - start
    limits.close()
    messages = [v.message for c in checked for v in c.evaluation.violations]
    outcome = "passed" if not messages else messages[0][:90]
    figures: dict[str, Any] = {
        "server_peak": _status(os.getpid(), "VmHWM"),
        "worker_peak": limits.engine.peak_bytes,
        "seconds": seconds,
        "outcome": outcome,
    }
    print(json.dumps(figures))


def _run(sbom: Path, limited: bool, timeout: float, memory_mb: int) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", str(sbom), "--timeout", str(timeout)]
    args += ["--memory-mb", str(memory_mb)]
    args += ["--limited"] if limited else []
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--child", type=Path)
    parser.add_argument("--limited", action="store_true")
    parser.add_argument("--memory-mb", type=int, default=2048, help="the worker's memory limit")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="time limit per policy (the server's: 10)"
    )
    args = parser.parse_args()
    if args.child:
        child(args.child, args.limited, args.timeout, args.memory_mb)
        return
    from chainproof.server.services.policy_input import DEFAULT_MAX_INPUT_BYTES

    mb = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        large, at_limit = Path(tmp) / "large.json", Path(tmp) / "at-limit.json"
        make_sbom(large, args.size_mb * mb)
        make_sbom(at_limit, DEFAULT_MAX_INPUT_BYTES - mb)
        rows = [
            ("baseline: no input limit", large, False),
            ("default limits", large, True),
            ("default limits, at the limit", at_limit, True),
        ]
        head = f"{'scenario':30} {'SBOM MB':>8} {'server MB':>10} {'worker MB':>10} {'s':>6}"
        print(head + "  outcome")
        for label, sbom, limited in rows:
            r = _run(sbom, limited, args.timeout, args.memory_mb)
            size = sbom.stat().st_size / mb
            print(
                f"{label:30} {size:8.0f} {r['server_peak'] / mb:10.0f} "
                f"{r['worker_peak'] / mb:10.0f} {r['seconds']:6.1f}  {r['outcome']}"
            )


if __name__ == "__main__":
    main()
