"""Progress of uploads and downloads over 1 MB, on stderr.

On a terminal, a transient Rich bar. Elsewhere (a CI log), a plain line at most every
``CHAINPROOF_PROGRESS_INTERVAL`` seconds (default 5), such as
``uploading sbom.json: 45.0 MB of 200.0 MB (22%)``, so a long transfer shows it is alive
without flooding the log. Neither with ``-o json`` (``enabled=False``): stderr then carries
nothing but a JSON error document, if the command fails. Rich is imported only for a bar.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

#: Transfers larger than this get progress (a bar or lines).
PROGRESS_THRESHOLD = 1000 * 1000
#: Seconds between two progress lines when stderr is not a terminal.
DEFAULT_INTERVAL = 5.0
INTERVAL_ENV = "CHAINPROOF_PROGRESS_INTERVAL"

Update = Callable[[int, int], None]
"""``update(bytes_done, total)``; total 0 when unknown."""


def megabytes(size: int) -> str:
    """``45.0 MB``: decimal megabytes, as the terminal bar shows them."""
    return f"{size / 1_000_000:.1f} MB"


class ProgressLines:
    """Writes ``<verb> <label>: <done> of <total> (<pct>%)`` when ``interval`` seconds have
    passed since the transfer started or since the last line."""

    def __init__(
        self,
        verb: str,
        label: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = DEFAULT_INTERVAL,
        write: Callable[[str], None] | None = None,
    ) -> None:
        self._prefix = f"{verb} {label}"
        self._clock = clock
        self._interval = interval
        self._write = write or _to_stderr
        self._last = clock()

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        if now - self._last < self._interval:
            return
        self._last = now
        self._write(self.line(done, total))

    def line(self, done: int, total: int) -> str:
        """The progress line for ``done`` of ``total`` bytes (total 0: unknown)."""
        if total <= 0:
            return f"{self._prefix}: {megabytes(done)}"
        percent = min(100, done * 100 // total)
        return f"{self._prefix}: {megabytes(done)} of {megabytes(total)} ({percent}%)"


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def interval_from(environ: Mapping[str, str]) -> float:
    """``CHAINPROOF_PROGRESS_INTERVAL`` in seconds (default 5; bad values: the default)."""
    try:
        value = float(environ.get(INTERVAL_ENV, DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value >= 0 else DEFAULT_INTERVAL


@contextmanager
def transfer_progress(
    label: str,
    *,
    enabled: bool = True,
    verb: str = "transferring",
    clock: Callable[[], float] = time.monotonic,
    interval: float | None = None,
) -> Iterator[Callable[[int | None], Update | None]]:
    """A factory of progress callbacks for uploads and downloads.

    ``factory(total)`` returns ``callback(done, total)``, or None when no progress is
    wanted: the transfer is 1 MB or less, or ``enabled`` is False (``-o json``). On a
    terminal it drives a Rich bar, elsewhere :class:`ProgressLines` (``clock`` and
    ``interval`` are for tests; ``interval`` defaults to the environment's). With
    ``total=None`` (a download whose size comes with the answer) progress starts on the
    first callback that reports a size over 1 MB.
    """
    bars: list[Any] = []
    on_terminal = sys.stderr.isatty()
    every = interval_from(os.environ) if interval is None else interval

    def start(total: int) -> Update:
        if not on_terminal:
            return ProgressLines(verb, label, clock=clock, interval=every)
        bar, update = _rich_bar(label, total)
        bars.append(bar)
        return update

    def factory(total: int | None) -> Update | None:
        if not enabled or (total is not None and total <= PROGRESS_THRESHOLD):
            return None
        if total is not None:
            return start(total)
        live: list[Update] = []

        def lazy(done: int, size: int) -> None:
            if not live:
                if size <= PROGRESS_THRESHOLD:
                    return
                live.append(start(size))
            live[0](done, size)

        return lazy

    try:
        yield factory
    finally:
        for bar in bars:
            bar.stop()


def _rich_bar(label: str, total: int) -> tuple[Any, Update]:
    """A started transient Rich bar on stderr, and its update callback."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    bar = Progress(
        f"[bold]{label}[/]",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=total)
    bar.start()

    def update(done: int, size: int) -> None:
        bar.update(task, completed=done, total=size or total)

    return bar, update
