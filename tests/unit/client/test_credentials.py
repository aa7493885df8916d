"""The CLI's saved sign-in sessions (client/credentials.py): where the file lives, its mode,
one session per server, the current server, expiry, a damaged file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chainproof.client import credentials
from chainproof.client.credentials import SavedSession
from chainproof.errors import InvalidInput, Unauthorized

LATER = "2999-01-01T00:00:00Z"


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def test_the_file_follows_xdg_config_home_and_falls_back_to_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert credentials.credentials_path(_env(tmp_path)) == (
        tmp_path / "cfg" / "chainproof" / "credentials.json"
    )
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for environ in ({}, {"XDG_CONFIG_HOME": "relative/dir"}):  # XDG: relative paths are ignored
        expected = tmp_path / "home" / ".config" / "chainproof" / "credentials.json"
        assert credentials.credentials_path(environ) == expected


def test_saved_sessions_are_owner_only_one_per_server_and_the_last_is_current(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    first = SavedSession(url="http://a.test", token="cps_a", expires_at=LATER, email="x@a.test")
    path = credentials.save(env, first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    credentials.save(env, SavedSession(url="http://b.test/api/v1/", token="cps_b"))
    assert credentials.find(env, None) == SavedSession(url="http://b.test/api/v1/", token="cps_b")
    assert credentials.find(env, "http://a.test/") == first  # the same server, spelled otherwise
    assert credentials.find(env, "http://c.test") is None
    assert "cps_a" not in repr(first)

    assert credentials.forget(env, None) is not None  # b, the current one
    assert credentials.find(env, None) == first  # a is current now
    assert credentials.forget(env, "http://a.test") == first
    assert not path.exists()  # the last session takes the file with it
    assert credentials.forget(env, None) is None


def test_an_expired_session_asks_for_a_new_sign_in(tmp_path: Path) -> None:
    env = _env(tmp_path)
    old = SavedSession(url="http://a.test", token="cps_a", expires_at="2001-01-01T00:00:00Z")
    credentials.save(env, old)
    with pytest.raises(Unauthorized, match="expired") as caught:
        credentials.find(env, None)
    assert "auth login" in (caught.value.hint or "")
    assert credentials.find(env, None, allow_expired=True) == old


def test_a_damaged_file_is_named(tmp_path: Path) -> None:
    env = _env(tmp_path)
    path = credentials.credentials_path(env)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(InvalidInput, match="not a chainproof credentials file"):
        credentials.find(env, None)
