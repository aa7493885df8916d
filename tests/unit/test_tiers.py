"""The guard of tests/unit/conftest.py: no server, no subprocess started by a unit test."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chainproof.client.git import head_info


def test_a_unit_test_cannot_start_a_process() -> None:
    with pytest.raises(pytest.fail.Exception, match="a unit test started a process"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_a_unit_test_cannot_bind_a_socket() -> None:
    with socket.socket() as sock, pytest.raises(pytest.fail.Exception, match="bound a socket"):
        sock.bind(("127.0.0.1", 0))


def test_chainproof_may_start_its_own_processes(tmp_path: Path) -> None:
    assert head_info(tmp_path) is None  # git ran, and found no repository there
