"""``transfer_progress``: for transfers over 1 MB, not with -o json: a Rich bar on a TTY,
elsewhere a line at most every few seconds (an injected clock drives it here)."""

from __future__ import annotations

import io
import sys

import pytest

from chainproof.cli._common import PROGRESS_THRESHOLD, transfer_progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tty(monkeypatch: pytest.MonkeyPatch) -> _Tty:
    # In the test body: pytest's capture re-installs its own sys.stderr between phases.
    stream = _Tty()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def test_no_bar_when_stderr_is_not_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.progress

    def no_bar(self: rich.progress.Progress) -> None:
        raise AssertionError("a bar on a pipe")

    monkeypatch.setattr(rich.progress.Progress, "start", no_bar)
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with transfer_progress("big.bin", interval=0) as bar:
        update = bar(10 * PROGRESS_THRESHOLD)
        assert update is not None
        update(PROGRESS_THRESHOLD, 10 * PROGRESS_THRESHOLD)
    assert "━" not in piped.getvalue() and "\x1b" not in piped.getvalue()


def test_no_bar_for_small_transfers_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _tty(monkeypatch)
    with transfer_progress("small.bin") as bar:
        assert bar(PROGRESS_THRESHOLD) is None
    with transfer_progress("big.bin", enabled=False) as bar:
        assert bar(10 * PROGRESS_THRESHOLD) is None
    assert tty.getvalue() == ""


def test_bar_for_large_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    _tty(monkeypatch)
    with transfer_progress("big.bin") as bar:
        update = bar(4 * PROGRESS_THRESHOLD)
        assert update is not None
        update(PROGRESS_THRESHOLD, 4 * PROGRESS_THRESHOLD)
        update(4 * PROGRESS_THRESHOLD, 4 * PROGRESS_THRESHOLD)


def test_download_bar_starts_once_the_size_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.progress

    _tty(monkeypatch)
    started: list[int] = []
    original = rich.progress.Progress.start

    def start(self: rich.progress.Progress) -> None:
        started.append(1)
        original(self)

    monkeypatch.setattr(rich.progress.Progress, "start", start)
    with transfer_progress("blob") as bar:
        update = bar(None)
        assert update is not None
        update(10, 100)  # a small download: no bar
        assert started == []
        update(PROGRESS_THRESHOLD, 3 * PROGRESS_THRESHOLD)
        update(3 * PROGRESS_THRESHOLD, 3 * PROGRESS_THRESHOLD)
        assert started == [1]
