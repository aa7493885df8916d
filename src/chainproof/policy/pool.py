"""The Rego worker processes: a bounded pool, a time limit and a memory limit per evaluation.

rego-cpp evaluates in native code that Python cannot interrupt, so each evaluation runs in a
worker process (:mod:`chainproof.policy._worker`) that is killed when it runs past its time
limit or its memory limit; the next evaluation that needs a worker starts a new one. Up to
``size`` workers run at once, so a policy stuck for its whole time limit holds one worker and
delays nobody else while the others are free; evaluations beyond ``size`` wait for a worker.

The memory limit is watched from here, not set with ``setrlimit`` in the worker: rego-cpp's
allocator (snmalloc) reserves about 256 GB of address space when it starts and aborts under
any RLIMIT_AS or RLIMIT_DATA below that ("Failed to initialise snmalloc"), so the only limit
that works is on the resident set. While it waits for an answer the parent reads the worker's
``/proc/<pid>/statm`` every :data:`POLL_SECONDS` and kills it past the limit (a worker may
overshoot by what it allocates in one poll). Where there is no ``/proc`` (macOS, Windows)
only the time limit applies.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

__all__ = ["DEFAULT_MEMORY_MB", "POLL_SECONDS", "OverMemory", "WorkerPool", "default_workers"]

DEFAULT_MEMORY_MB = 2048
"""Resident memory one worker may use, in MiB. Its own baseline is ~30 MiB; rego-cpp holds an
input at about 100 times its JSON size (a 15 MB CycloneDX SBOM under a policy that reads
every component: 1.6 GB)."""
POLL_SECONDS = 0.05
_WORKER = Path(__file__).with_name("_worker.py")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def default_workers() -> int:
    """min(4, CPUs), at least 2: one stuck policy must leave a worker for everyone else."""
    return max(2, min(4, os.cpu_count() or 1))


class OverMemory(Exception):
    """The worker went past the memory limit and was killed."""


class Worker:
    """One child process, the thread that reads its answers, and the materials it holds."""

    def __init__(self) -> None:
        env: dict[str, str] = {}
        if sys.platform == "win32":  # Python cannot start on Windows without it
            env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.bases: list[str] = []
        self.peak = 0  # the largest resident size seen while waiting for it, in bytes
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            while True:
                header = stream.read(4)
                if len(header) < 4:
                    break
                (size,) = struct.unpack(">I", header)
                self.answers.put(json.loads(stream.read(size)))
        except (OSError, ValueError):
            pass
        self.answers.put(None)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, request: Mapping[str, Any]) -> None:
        body = json.dumps(request).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(struct.pack(">I", len(body)) + body)
        self.proc.stdin.flush()

    def receive(self, timeout: float, memory_bytes: int) -> dict[str, Any] | None:
        """The next answer; None if the worker died; queue.Empty after ``timeout`` seconds,
        OverMemory when its resident memory passes ``memory_bytes`` (0: no limit)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise queue.Empty
            try:
                return self.answers.get(timeout=min(left, POLL_SECONDS))
            except queue.Empty:
                self.peak = max(self.peak, self.resident())
                if memory_bytes and self.peak > memory_bytes:
                    raise OverMemory from None

    def resident(self) -> int:
        """Resident set size in bytes (0 where /proc cannot tell)."""
        try:
            with open(f"/proc/{self.proc.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return 0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


class WorkerPool:
    """Up to ``size`` workers, started when needed; thread-safe."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = size
        self._idle: list[Worker] = []
        self._busy = 0
        self._ready = threading.Condition()
        self._working: set[Worker] = set()
        self._retired: set[Worker] = set()  # working when close() was called: killed on return

    def start_one(self) -> None:
        """Start a worker now if none is idle and one may start, without waiting for it."""
        with self._ready:
            if not self._idle and self._busy < self.size:
                self._idle.append(Worker())

    @contextlib.contextmanager
    def worker(self, prefer: str = "") -> Iterator[Worker]:
        """A worker for one evaluation, waiting for one to be free: an idle worker that
        holds the material ``prefer`` (its base key) if there is one. A worker killed during
        the evaluation is not returned to the pool (the next caller starts a new one)."""
        with self._ready:
            while not self._idle and self._busy >= self.size:
                self._ready.wait()
            self._busy += 1
            chosen = next((w for w in self._idle if prefer in w.bases), None)
            if chosen is None and self._idle:
                chosen = self._idle[-1]
            if chosen is not None:
                self._idle.remove(chosen)
        try:
            if chosen is None or not chosen.alive:
                if chosen is not None:
                    chosen.kill()  # it exited on its own: release its pipes
                chosen = Worker()
            with self._ready:
                self._working.add(chosen)
            yield chosen
        finally:
            with self._ready:
                self._busy -= 1
                self._working.discard(chosen)
                if chosen is not None and chosen in self._retired:
                    self._retired.discard(chosen)
                    chosen.kill()
                elif chosen is not None and chosen.alive:
                    self._idle.append(chosen)
                self._ready.notify()

    def close(self) -> None:
        """Stop the idle workers (busy ones stop when their evaluation ends)."""
        with self._ready:
            idle, self._idle = self._idle, []
            self._retired |= self._working
        for w in idle:
            w.kill()
