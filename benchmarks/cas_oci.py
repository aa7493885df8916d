"""Upload and download MB/s of the OCI CAS backend, against oras-py on the same registry.

Generates a file (default 1 GiB) in a temp dir, starts Debian's docker-registry on a loopback
port (tests/registry.py), and in each round runs, each in its own subprocess:

- chainproof upload: the digest pass over the file plus ``OciBackend.put`` (what
  ``artifact upload FILE`` does: the CAS key is the digest, so it is known before the upload);
- oras-py push of the same file (it hashes the file too, then uploads it and a manifest);
- chainproof download: ``OciBackend.open`` to a file, digest verified on the fly;
- oras-py download of the same blob by digest (``download_blob``; it verifies nothing);
- chainproof CLI: ``chainproof artifact upload FILE`` timed from process start to exit,
  against an embedded server (benchmarks/cas_fs.py starts it) whose organisation's default CAS
  backend is this registry (a fresh repository each round): the CLI sends the file to the
  server's CAS, which streams it into the registry;
- when curl is installed, curl's monolithic PUT of the file: the registry's own ceiling, the
  fastest any client can upload to it (a C client that neither hashes nor buffers).

Each operation gets a fresh repository, so nothing is deduplicated. Prints MB/s (10^6 bytes/s)
of each, the chainproof/oras ratios (goal: >= 2.5x on upload through the CLI), and the peak
RSS of each subprocess read with wait4's ru_maxrss (goal: <= 128 MiB for the chainproof
uploads; the server's peak is read from its VmHWM).

With ``--workdir /dev/shm`` the file and the registry's storage are in memory, so the figures
compare the clients rather than the disk (the registry still hashes and moves every blob).

    python benchmarks/cas_oci.py [--size 1GiB] [--rounds 1] [--json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
_UNITS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([kmg]?)i?b?", text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (write e.g. 1GiB, 200MiB)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _make_file(path: Path, size: int) -> None:
    """Incompressible bytes: a random 1 MiB block, each copy led by its own offset."""
    block = bytearray(os.urandom(MiB))
    with open(path, "wb") as fh:
        for offset in range(0, size, MiB):
            block[:8] = offset.to_bytes(8, "big")
            fh.write(block[: min(MiB, size - offset)])


# -- the measured operations, each run in a child process ---------------------------------


def _child(op: str, file: Path, repository: str, digest: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "src"))
    size = file.stat().st_size
    if op.startswith("chainproof"):
        from chainproof.cas.oci import OciBackend
        from chainproof.core.digest import Digest

        backend = OciBackend(repository, max_blob_size=size)
    else:
        import oras.client

        client = oras.client.OrasClient(hostname=repository.split("/")[0], insecure=True)
    idle_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    out: dict[str, float] = {}
    if op == "chainproof-upload":
        key, _ = Digest.of_file(file)
        hashed = time.perf_counter()
        with open(file, "rb") as fh:
            backend.put(key, iter(lambda: fh.read(MiB), b""), size=size)
        out["put_seconds"] = time.perf_counter() - hashed
    elif op == "chainproof-download":
        with open(file.with_suffix(".cp"), "wb") as fh:
            for piece in backend.open(Digest.parse(digest)):
                fh.write(piece)
    elif op == "oras-push":
        client.push(target=f"{repository}:bench", files=[str(file)], disable_path_validation=True)
    elif op == "oras-download":
        client.download_blob(repository, digest, str(file.with_suffix(".oras")))
    else:
        raise SystemExit(f"unknown operation {op}")
    out["seconds"] = time.perf_counter() - start
    out["idle_rss"] = idle_rss
    return out


def _run_child(op: str, file: Path, repository: str, digest: str) -> dict[str, float]:
    args = [sys.executable, __file__, "--child", op, str(file), repository, digest]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{op} failed:\n{stderr.decode()}")
    result: dict[str, float] = json.loads(stdout)
    result["peak_rss"] = usage.ru_maxrss * 1024  # Linux: KiB
    return result


def _curl_upload(file: Path, host: str, repo: str, digest: str) -> dict[str, float] | None:
    curl = shutil.which("curl")
    if curl is None:
        return None
    import httpx

    start = httpx.post(f"http://{host}/v2/{repo}/blobs/uploads/")
    location = httpx.URL(f"http://{host}").join(start.headers["Location"])
    url = str(location.copy_add_param("digest", digest))
    began = time.perf_counter()
    proc = subprocess.run(
        [curl, "-sf", "-o", "/dev/null", "-X", "PUT", "-T", str(file), url], check=False
    )
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"curl upload failed ({proc.returncode})")
    return {"seconds": seconds}


# -- the parent ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=_size, default=1024 * MiB, help="file size (1GiB)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the file and the registry's storage live (e.g. /dev/shm: no disk I/O)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        op, file, repository, digest = args.child
        print(json.dumps(_child(op, Path(file), repository, digest)))
        return

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from cas_fs import _server, _stamp, _vm_hwm
    from tests.registry import start_registry

    from chainproof.core.digest import Digest

    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-oci-", dir=args.workdir))
    registry = start_registry(tmp / "registry")
    (tmp / "registry").mkdir()
    try:
        host = next(registry)
        file = tmp / "evidence.bin"
        _make_file(file, args.size)
        runs: dict[str, list[dict[str, float]]] = {}
        with _server(tmp) as (url, token, _, server_pid):
            env = {
                **os.environ,
                "CHAINPROOF_URL": url,
                "CHAINPROOF_TOKEN": token,
                "CHAINPROOF_STATE_DIR": str(tmp / "state"),  # none: a run-less upload
            }
            for n in range(args.rounds):
                _stamp(file, n)  # a new digest each round: the CLI's upload is not skipped
                digest = str(Digest.of_file(file)[0])
                _cli_backend(env, f"{host}/bench/cli{n}", n, args.size)
                for op, repo in (
                    ("chainproof-upload", f"bench/cp{n}"),
                    ("oras-push", f"bench/oras{n}"),
                    ("chainproof-cli-upload", ""),
                    ("chainproof-download", f"bench/cp{n}"),
                    ("oras-download", f"bench/oras{n}"),
                ):
                    if op == "chainproof-cli-upload":
                        result = _cli_upload(file, env, digest)
                    else:
                        result = _run_child(op, file, f"{host}/{repo}", digest)
                    runs.setdefault(op, []).append(result)
                    for suffix in (".cp", ".oras"):
                        file.with_suffix(suffix).unlink(missing_ok=True)
                ceiling = _curl_upload(file, host, f"bench/curl{n}", digest)
                if ceiling:
                    runs.setdefault("curl-upload", []).append(ceiling)
            server_hwm = _vm_hwm(server_pid)
        _report(args.size, runs, args.json, server_hwm)
    finally:
        registry.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _cli_backend(env: dict[str, str], repository: str, n: int, size: int) -> None:
    """Make a fresh OCI repository the organisation's default CAS backend."""
    from cas_fs import CLI, _run

    max_size = str(max(size, MiB) * 2)
    args = ["cas-backend", "add", "oci", "--name", f"bench{n}", "--repository", repository]
    _run([CLI, *args, "--max-size", max_size, "--default", "-o", "json"], env)


def _cli_upload(file: Path, env: dict[str, str], digest: str) -> dict[str, float]:
    """``chainproof artifact upload FILE``, from process start to exit."""
    from cas_fs import CLI, _run

    seconds, rss, out = _run([CLI, "artifact", "upload", str(file), "-o", "json"], env)
    answer = json.loads(out)
    if answer["digest"] != digest or answer["uploaded"] is not True:
        raise SystemExit(f"unexpected upload answer: {answer}")
    return {"seconds": seconds, "peak_rss": rss}


def _report(
    size: int, runs: dict[str, list[dict[str, float]]], as_json: bool, server_hwm: float
) -> None:
    def best(op: str, key: str = "seconds") -> float:
        return min(r[key] for r in runs[op])

    def mbps(seconds: float) -> float:
        return size / seconds / 1e6

    figures: dict[str, Any] = {
        "size_bytes": size,
        "rounds": len(runs["oras-push"]),
        "upload_mb_s": {
            "chainproof_cli": mbps(best("chainproof-cli-upload")),
            "chainproof": mbps(best("chainproof-upload")),
            "chainproof_put_only": mbps(best("chainproof-upload", "put_seconds")),
            "oras": mbps(best("oras-push")),
        },
        "download_mb_s": {
            "chainproof": mbps(best("chainproof-download")),
            "oras": mbps(best("oras-download")),
        },
        "peak_rss_mib": {
            op: max(r.get("peak_rss", 0) for r in results) / MiB for op, results in runs.items()
        },
        "idle_rss_mib": {
            op: max(r.get("idle_rss", 0) for r in results) / MiB for op, results in runs.items()
        },
    }
    if "curl-upload" in runs:
        figures["registry_ceiling_mb_s"] = mbps(best("curl-upload"))
        figures["cli_of_ceiling"] = mbps(best("chainproof-cli-upload")) / mbps(best("curl-upload"))
        del runs["curl-upload"]
        figures["peak_rss_mib"].pop("curl-upload")
        figures["idle_rss_mib"].pop("curl-upload")
    figures["server_peak_rss_mib"] = server_hwm / MiB
    up, down = figures["upload_mb_s"], figures["download_mb_s"]
    figures["upload_ratio_cli"] = up["chainproof_cli"] / up["oras"]
    figures["upload_ratio"] = up["chainproof"] / up["oras"]
    figures["download_ratio"] = down["chainproof"] / down["oras"]
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    rss, idle = figures["peak_rss_mib"], figures["idle_rss_mib"]
    print(f"OCI CAS, {size / MiB:.0f} MiB file, best of {figures['rounds']} round(s):")
    print(f"  upload    CLI        {up['chainproof_cli']:7.1f} MB/s  (artifact upload, process")
    print("                                   start to exit, through the server's CAS)")
    print(f"            library    {up['chainproof']:7.1f} MB/s  (hash pass + OciBackend.put;")
    print(f"                       put alone {up['chainproof_put_only']:7.1f} MB/s)")
    print(f"            oras-py    {up['oras']:7.1f} MB/s")
    print(f"            ratio CLI  {figures['upload_ratio_cli']:7.2f}x   (goal >= 2.5x)")
    print(f"            ratio lib  {figures['upload_ratio']:7.2f}x")
    if "registry_ceiling_mb_s" in figures:
        ceiling = figures["registry_ceiling_mb_s"]
        print(
            f"            curl       {ceiling:7.1f} MB/s  (the registry's ceiling: PUT, no hashing;"
        )
        print(
            f"                       {ceiling / up['oras']:.2f}x oras-py; the CLI reaches ", end=""
        )
        print(f"{figures['cli_of_ceiling']:.0%} of it)")
    print(f"  download  chainproof {down['chainproof']:7.1f} MB/s  (digest verified)")
    print(f"            oras-py    {down['oras']:7.1f} MB/s  (not verified)")
    print(f"            ratio      {figures['download_ratio']:7.2f}x")
    for op in ("chainproof-upload", "oras-push", "chainproof-download", "oras-download"):
        goal = "  (goal <= 128 MiB)" if op == "chainproof-upload" else ""
        print(f"  peak RSS  {op:20s} {rss[op]:6.1f} MiB  (after imports {idle[op]:5.1f} MiB){goal}")
    cli = rss["chainproof-cli-upload"]
    print(f"  peak RSS  {'CLI upload':20s} {cli:6.1f} MiB  (goal <= 128 MiB)")
    print(f"  peak RSS  {'server':20s} {figures['server_peak_rss_mib']:6.1f} MiB  (VmHWM)")


if __name__ == "__main__":
    main()
