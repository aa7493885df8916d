"""Unit tests start no server and no subprocess: those belong in tests/integration or tests/e2e.

While a unit test (its fixtures included) runs, binding a socket fails it, and so does starting
a process from test code. Processes that chainproof itself starts are the code under test and
are allowed: the policy engine's Rego worker and the ``git`` probe of ``attestation init``.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import chainproof

CHAINPROOF = str(Path(chainproof.__file__).resolve().parent)
TESTS = str(Path(__file__).resolve().parents[1])


def _started_by_chainproof() -> bool:
    """Whether the innermost frame on the stack that is chainproof's or a test's is
    chainproof's (frames of the standard library and of other packages are skipped)."""
    frame = sys._getframe(2)  # the caller of Popen.__init__
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(CHAINPROOF):
            return True
        if name.startswith(TESTS) and name != __file__:
            return False
        frame = frame.f_back  # type: ignore[assignment]
    return False


@contextlib.contextmanager
def _no_servers_or_processes() -> Iterator[None]:
    original_init = subprocess.Popen.__init__

    def popen_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if not _started_by_chainproof():
            pytest.fail(f"a unit test started a process {args!r:.80}: move it to tests/integration")
        original_init(self, args, *rest, **kwargs)

    def refuse_bind(self: socket.socket, address: Any) -> None:
        pytest.fail(f"a unit test bound a socket to {address!r}: move it to tests/integration")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", popen_init)
        patch.setattr(socket.socket, "bind", refuse_bind)
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _no_servers_or_processes():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _no_servers_or_processes():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with _no_servers_or_processes():
        return (yield)
