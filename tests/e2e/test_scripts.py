"""The newcomer's scripts refuse clearly, before installing anything, when they cannot work."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_demo_refuses_a_busy_port_naming_it_and_the_way_out(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "PORT": str(port), "DATA": str(tmp_path / "data")}
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts/demo.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 1
    assert f"port {port}" in proc.stderr
    assert "PORT=8800 bash scripts/demo.sh" in proc.stderr
    assert "installing" not in proc.stdout  # refused before touching .venv
    assert not (tmp_path / "data").exists()


def test_demo_will_not_replace_a_directory_that_is_not_a_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "precious"
    data.mkdir()
    (data / "notes.txt").write_text("keep me")
    with socket.socket() as probe:  # a port free right now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PORT": str(port), "DATA": str(data)}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts/demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert f"{data} exists and is not a chainproof data dir" in proc.stderr
    assert (data / "notes.txt").read_text() == "keep me"


def test_install_test_services_names_npm_when_azurite_cannot_be_installed(tmp_path: Path) -> None:
    # A PATH with PostgreSQL, docker-registry and systemd-analyze (the suite needs them
    # anyway; helm is found in /opt/helm) but no npm and no Azurite: the script must stop with
    # a message that says what to install.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id", "pg_isready", "docker-registry", "systemd-analyze"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed by this test (scripts/install-test-services.sh)"
        (bin_dir / tool).symlink_to(found)
    proc = subprocess.run(
        [str(bin_dir / "bash"), str(ROOT / "scripts/install-test-services.sh")],
        env={"PATH": str(bin_dir), "AZURITE_PREFIX": str(tmp_path / "azurite")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "npm not found" in proc.stderr
    assert "Azurite" in proc.stderr
    assert not (tmp_path / "azurite").exists()
