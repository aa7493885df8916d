"""Settings: overrides beat CHAINPROOF_* variables, which beat the embedded defaults."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chainproof.errors import InvalidInput
from chainproof.server.settings import Settings, ensure_secret_key


def test_embedded_defaults(tmp_path: Path) -> None:
    s = Settings.embedded(tmp_path, environ={})
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'chainproof.db'}"
    assert s.cas_path == tmp_path.resolve() / "cas"
    assert s.run_expiry_seconds == 3600 and s.expiry_check_seconds == 30
    assert s.base_url == "http://127.0.0.1:8000"


def test_environment_then_overrides(tmp_path: Path) -> None:
    env = {
        "CHAINPROOF_RUN_EXPIRY_SECONDS": "3",
        "CHAINPROOF_EXPIRY_CHECK_SECONDS": "0.5",
        "CHAINPROOF_DATABASE_URL": "postgresql://db/x",
        "CHAINPROOF_PORT": "9000",
    }
    s = Settings.embedded(tmp_path, environ=env, port=8001)
    assert s.run_expiry_seconds == 3 and s.expiry_check_seconds == 0.5
    assert s.database_url == "postgresql://db/x" and s.port == 8001
    with pytest.raises(InvalidInput):
        Settings.embedded(tmp_path, environ={"CHAINPROOF_PORT": "eighty"})


def test_secret_key_file_is_private_and_stable(tmp_path: Path) -> None:
    key = ensure_secret_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert ensure_secret_key(tmp_path) == key
    s = Settings.embedded(tmp_path, environ={})
    assert s.secret_key.get_secret_value() == key
    assert key not in repr(s)


def test_cas_settings(tmp_path: Path) -> None:
    s = Settings.embedded(tmp_path, environ={})
    assert s.cas_base_url == "http://127.0.0.1:8000/cas/v1"
    assert s.fs_backends_path == tmp_path.resolve() / "cas-backends"
    assert s.cas_max_blob_size == 0 and s.cas_validation_seconds == 300
    env = {
        "CHAINPROOF_CAS_URL": "http://cas.internal:8001/cas/v1/",
        "CHAINPROOF_FS_BACKENDS_ROOT": "/srv/evidence",
        "CHAINPROOF_CAS_MAX_BLOB_SIZE": "1000",
        "CHAINPROOF_CAS_VALIDATION_SECONDS": "0",
    }
    s = Settings.embedded(tmp_path, environ=env)
    assert s.cas_base_url == "http://cas.internal:8001/cas/v1"
    assert s.fs_backends_path == Path("/srv/evidence")
    assert s.cas_max_blob_size == 1000 and s.cas_validation_seconds == 0
