"""Progress lines for a non-terminal (a CI log): at most one per interval, only for
transfers over 1 MB, never with -o json; the clock is injected."""

from __future__ import annotations

import io
import sys

import pytest

from chainproof.cli._progress import (
    PROGRESS_THRESHOLD,
    ProgressLines,
    interval_from,
    transfer_progress,
)

MB = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_at_most_every_interval() -> None:
    clock, lines = Clock(), []
    progress = ProgressLines("uploading", "sbom.json", clock=clock, interval=5, write=lines.append)
    total = 200 * MB
    for second, done in [(1, 10), (4.9, 20), (5, 45), (7, 60), (9.9, 90), (10, 100), (30, 200)]:
        clock.now = 100 + second
        progress(done * MB, total)
    assert lines == [
        "uploading sbom.json: 45.0 MB of 200.0 MB (22%)",
        "uploading sbom.json: 100.0 MB of 200.0 MB (50%)",
        "uploading sbom.json: 200.0 MB of 200.0 MB (100%)",
    ]


def test_an_unknown_total_shows_the_bytes_so_far() -> None:
    progress = ProgressLines("downloading", "blob", clock=Clock(), interval=0, write=print)
    assert progress.line(3 * MB, 0) == "downloading blob: 3.0 MB"


def _piped(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    # In the test body: pytest's capture re-installs its own sys.stderr between phases.
    stream = io.StringIO()  # not a TTY
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def test_transfers_over_1_mb_on_a_pipe_print_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = _piped(monkeypatch)
    clock = Clock()
    with transfer_progress("big.bin", verb="uploading", clock=clock, interval=5) as bar:
        update = bar(3 * MB)
        assert update is not None
        update(1 * MB, 3 * MB)  # less than 5 s in: nothing yet
        clock.now += 6
        update(2 * MB, 3 * MB)
    assert piped.getvalue() == "uploading big.bin: 2.0 MB of 3.0 MB (66%)\n"


def test_downloads_start_once_a_size_over_1_mb_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = _piped(monkeypatch)
    clock = Clock()
    with transfer_progress("blob", verb="downloading", clock=clock, interval=5) as bar:
        update = bar(None)
        assert update is not None
        clock.now += 60
        update(10, 100)  # a small download: never a line
        update(MB, 4 * MB)  # the lines' clock starts now
        clock.now += 5
        update(2 * MB, 4 * MB)
    assert piped.getvalue() == "downloading blob: 2.0 MB of 4.0 MB (50%)\n"


def test_nothing_for_small_transfers_or_with_json(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = _piped(monkeypatch)
    with transfer_progress("small.bin", interval=0) as bar:
        assert bar(PROGRESS_THRESHOLD) is None
    with transfer_progress("big.bin", enabled=False, interval=0) as bar:
        assert bar(10 * PROGRESS_THRESHOLD) is None
        assert bar(None) is None
    assert piped.getvalue() == ""


@pytest.mark.parametrize(
    ("environ", "seconds"),
    [({}, 5.0), ({"CHAINPROOF_PROGRESS_INTERVAL": "0.5"}, 0.5),
     ({"CHAINPROOF_PROGRESS_INTERVAL": "soon"}, 5.0),
     ({"CHAINPROOF_PROGRESS_INTERVAL": "-1"}, 5.0)],
)  # fmt: skip
def test_interval_from_the_environment(environ: dict[str, str], seconds: float) -> None:
    assert interval_from(environ) == seconds
