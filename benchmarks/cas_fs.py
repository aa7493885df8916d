"""Upload MB/s and peak RSS of `chainproof artifact upload` into the filesystem CAS.

Starts its own embedded server (`chainproof server init` + `server start` on a loopback port,
data dir in a temp dir, the fs store), writes a file of each size asked for (default 1 GiB,
incompressible), and in each round:

- baseline: `sha256sum FILE` (coreutils), the cost of just reading and hashing the file;
- context: a plain copy of the file into the data dir with fsync, the disk's ceiling for any
  store that makes a blob durable before it answers (the fs backend fsyncs, then renames);
- chainproof: the installed CLI, `artifact upload FILE -o json`, timed from process start to
  exit: its own digest pass over the file, the grant, HEAD, and the streamed PUT until the
  server has re-hashed, written, fsynced and renamed the blob. Its peak RSS is read with
  wait4's ru_maxrss (goal: <= 128 MiB whatever the size).

Each round stamps the file's first bytes so its digest is new (nothing is deduplicated), and
the stored blob is deleted afterwards to spare the disk. Prints MB/s (10^6 bytes/s) of both,
the chainproof/sha256sum ratio, and the peak RSS of the CLI (and of the server, VmHWM).

    python benchmarks/cas_fs.py [--size 1GiB[,4GiB]] [--rounds 1] [--tmp DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
_UNITS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}
CLI = shutil.which("chainproof", path=str(Path(sys.executable).parent)) or "chainproof"
SHA256SUM = shutil.which("sha256sum") or "sha256sum"
RSS_GOAL_MIB = 128


def _sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        match = re.fullmatch(r"(\d+)\s*([kmg]?)i?b?", part.strip().lower())
        if not match:
            raise argparse.ArgumentTypeError(f"not a size: {part!r} (write e.g. 1GiB, 200MiB)")
        out.append(int(match.group(1)) * _UNITS[match.group(2)])
    return out


def _make_file(path: Path, size: int) -> None:
    """Incompressible bytes: a random 1 MiB block, each copy led by its own offset."""
    block = bytearray(os.urandom(MiB))
    with open(path, "wb") as fh:
        for offset in range(0, size, MiB):
            block[8:16] = offset.to_bytes(8, "big")
            fh.write(block[: min(MiB, size - offset)])


def _stamp(path: Path, n: int) -> None:
    """Give the file a new digest for round ``n`` (its first 8 bytes)."""
    with open(path, "r+b") as fh:
        fh.write(n.to_bytes(8, "big"))


# -- the embedded server ---------------------------------------------------------------------


@contextmanager
def _server(tmp: Path) -> Iterator[tuple[str, str, Path, int]]:
    """``(url, owner token, data dir, pid)`` of a fresh embedded server on loopback."""
    import httpx

    data = tmp / "data"
    env = {**os.environ, "CHAINPROOF_STATE_DIR": str(tmp / "state")}
    # The embedded store takes 100 MB by default (docs/server-hardening.md): lift the limit
    # for the sizes measured here.
    env["CHAINPROOF_CAS_MAX_BLOB_SIZE"] = "0"
    init = subprocess.run(
        [CLI, "server", "init", "--data-dir", str(data), "--org", "bench", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise SystemExit(f"server init failed:\n{init.stderr}")
    token = json.loads(init.stdout)["token"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [CLI, "server", "start", "--data-dir", str(data), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.1)
        yield url, token, data, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _vm_hwm(pid: int) -> float:
    """Peak RSS of a running process (Linux ``VmHWM``), in bytes; 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return 0.0


# -- the measured operations ---------------------------------------------------------------


def _run(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``args``; ``(seconds, peak RSS in bytes, stdout)``, RSS from wait4's ru_maxrss."""
    began = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr.decode()}")
    return seconds, usage.ru_maxrss * 1024, stdout.decode()  # Linux: ru_maxrss in KiB


def _write_fsync_seconds(file: Path, dest: Path) -> float:
    """Seconds to copy ``file`` to ``dest`` and fsync it: the disk's ceiling for any store."""
    began = time.perf_counter()
    with open(file, "rb") as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, MiB)
        out.flush()
        os.fsync(out.fileno())
    seconds = time.perf_counter() - began
    dest.unlink()
    return seconds


def _round(file: Path, n: int, env: dict[str, str], data: Path) -> dict[str, float]:
    _stamp(file, n)
    disk_s = _write_fsync_seconds(file, data / "ceiling.bin")
    base_s, _, out = _run([SHA256SUM, str(file)], env)
    expected = out.split()[0]
    up_s, rss, out = _run([CLI, "artifact", "upload", str(file), "-o", "json"], env)
    answer = json.loads(out)
    if answer["digest"] != f"sha256:{expected}" or answer["uploaded"] is not True:
        raise SystemExit(f"unexpected upload answer: {answer}")
    stored = data / "cas" / "sha256" / expected[:2] / expected
    if stored.stat().st_size != file.stat().st_size:
        raise SystemExit(f"stored blob has the wrong size: {stored}")
    stored.unlink()  # spare the disk; the next round has a new digest anyway
    return {
        "sha256sum_seconds": base_s,
        "upload_seconds": up_s,
        "cli_peak_rss": rss,
        "disk_seconds": disk_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--size", type=_sizes, default=[1024 * MiB], help="file size(s), comma-separated (1GiB)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds per size (best is kept)")
    parser.add_argument("--tmp", type=Path, default=None, help="where the file and data go")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cp-bench-fs-", dir=args.tmp))
    results: list[dict[str, Any]] = []
    try:
        with _server(tmp) as (url, token, data, server_pid):
            env = {
                **os.environ,
                "CHAINPROOF_URL": url,
                "CHAINPROOF_TOKEN": token,
                "CHAINPROOF_STATE_DIR": str(tmp / "state"),  # none: a run-less upload
            }
            for size in args.size:
                file = tmp / "evidence.bin"
                _make_file(file, size)
                rounds = [_round(file, n, env, data) for n in range(args.rounds)]
                file.unlink()
                results.append(_figures(size, rounds, _vm_hwm(server_pid)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _report(results, args.json)


def _figures(size: int, rounds: list[dict[str, float]], server_hwm: float) -> dict[str, Any]:
    base = min(r["sha256sum_seconds"] for r in rounds)
    up = min(r["upload_seconds"] for r in rounds)
    return {
        "size_bytes": size,
        "rounds": len(rounds),
        "sha256sum_mb_s": size / base / 1e6,
        "upload_mb_s": size / up / 1e6,
        "ratio": base / up,
        "disk_write_fsync_mb_s": size / min(r["disk_seconds"] for r in rounds) / 1e6,
        "cli_peak_rss_mib": max(r["cli_peak_rss"] for r in rounds) / MiB,
        "server_peak_rss_mib": server_hwm / MiB,
    }


def _report(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(results, indent=2))
        return
    for f in results:
        size = f["size_bytes"] / MiB
        print(f"fs CAS, {size:.0f} MiB file, best of {f['rounds']} round(s):")
        print(f"  sha256sum                  {f['sha256sum_mb_s']:7.1f} MB/s  (baseline)")
        print(f"  chainproof artifact upload {f['upload_mb_s']:7.1f} MB/s  (CLI start to exit)")
        print(f"  ratio to sha256sum         {f['ratio']:7.2f}x")
        print(
            f"  disk write + fsync         {f['disk_write_fsync_mb_s']:7.1f} MB/s  "
            "(the store's ceiling: a plain copy)"
        )
        ok = "ok" if f["cli_peak_rss_mib"] <= RSS_GOAL_MIB else "OVER"
        print(
            f"  peak RSS CLI               {f['cli_peak_rss_mib']:7.1f} MiB "
            f"(goal <= {RSS_GOAL_MIB} MiB: {ok})"
        )
        print(f"  peak RSS server (so far)   {f['server_peak_rss_mib']:7.1f} MiB")


if __name__ == "__main__":
    main()
