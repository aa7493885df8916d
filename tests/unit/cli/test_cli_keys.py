"""``chainproof keys``: cosign-format key pairs, password sources, no overwriting; register
and list over the real ApiClient (MockTransport)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from chainproof.cli import keys as keys_cli
from chainproof.cli._common import CliContext
from chainproof.cli.main import app
from chainproof.signing.keyfile import load_private_key, public_key_pem

runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)


def test_generate_writes_a_cosign_pair(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "generate", "-o", "json"], env={"COSIGN_PASSWORD": "pw"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"private_key": "cosign.key", "public_key": "cosign.pub"}
    key_pem, pub_pem = (
        (tmp_path / "cosign.key").read_bytes(),
        (tmp_path / "cosign.pub").read_bytes(),
    )
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert public_key_pem(load_private_key(key_pem, b"pw")) == pub_pem
    assert stat.S_IMODE((tmp_path / "cosign.key").stat().st_mode) == 0o600


def test_generate_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "release.pub").write_text("mine")
    result = runner.invoke(
        app, ["keys", "generate", "--output-key-prefix", "release"], env={"COSIGN_PASSWORD": "x"}
    )
    assert result.exit_code == 2
    assert "release.pub already exists" in result.output
    assert not (tmp_path / "release.key").exists()
    assert (tmp_path / "release.pub").read_text() == "mine"


def test_generate_without_password_or_terminal_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "generate"])
    assert result.exit_code == 2
    assert "COSIGN_PASSWORD" in result.output
    assert not (tmp_path / "cosign.key").exists()


def test_generate_asks_twice_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_cli, "_interactive", lambda: True)
    # a mismatch is asked again, as cosign does
    result = runner.invoke(app, ["keys", "generate"], input="one\ntwo\nhunter2\nhunter2\n")
    assert result.exit_code == 0, result.output
    assert "again" in result.output
    key = load_private_key((tmp_path / "cosign.key").read_bytes(), b"hunter2")
    assert public_key_pem(key) == (tmp_path / "cosign.pub").read_bytes()


def test_empty_cosign_password_is_allowed(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "generate"], env={"COSIGN_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    assert load_private_key((tmp_path / "cosign.key").read_bytes(), None)


def test_register_and_list(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    created = {"id": "k1", "name": "release", "public_key": "PEM"}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(201, json=created)
        return httpx.Response(200, json=[created])

    (tmp_path / "cosign.pub").write_text(
        "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"
    )

    def cli(*args: str) -> Any:
        obj = CliContext(transport=httpx.MockTransport(handler), retries=1, backoff=0)
        return runner.invoke(app, ["--url", "http://cp.test", "--token", "cp_t", *args], obj=obj)

    result = cli(
        "keys", "register", "--name", "release", "--public-key", "cosign.pub", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(seen[0].content) == {
        "name": "release",
        "public_key": (tmp_path / "cosign.pub").read_text(),
    }
    assert seen[0].url.path == "/api/v1/signing/keys"
    listed = cli("keys", "list", "-o", "json")
    assert json.loads(listed.stdout) == [created]
    assert "release" in cli("keys", "list").stdout
