"""Settings: overrides beat CHAINPROOF_* variables, which beat the data dir's config.toml,
which beats the embedded defaults."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from chainproof.errors import InvalidInput, NotFound
from chainproof.server.settings import (
    CONFIG_FILE,
    Settings,
    is_initialised,
    read_config,
    write_config,
    write_secret_key,
)


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
    key = "k" * 64
    write_secret_key(tmp_path, key)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_secret_key(tmp_path, "other")
    s = Settings.embedded(tmp_path, environ={})
    assert s.secret_key.get_secret_value() == key
    assert key not in repr(s)


def test_cas_settings(tmp_path: Path) -> None:
    s = Settings.embedded(tmp_path, environ={})
    assert s.cas_base_url == "http://127.0.0.1:8000/cas/v1"
    assert s.fs_backends_path == tmp_path.resolve() / "cas-backends"
    # The embedded store is bounded by default, like the configured backends (issue 15).
    assert s.cas_max_blob_size == 100_000_000 and s.cas_validation_seconds == 300
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


def test_config_file_round_trips_any_url_privately(tmp_path: Path) -> None:
    url = 'postgresql://u:p"w\\d\x7f\n\tÿ€😀@db:5432/cp'
    path = write_config(tmp_path, {"database_url": url})
    assert path == tmp_path / CONFIG_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_config(tmp_path) == {"database_url": url}
    assert [p.name for p in tmp_path.iterdir()] == [CONFIG_FILE]  # no temporary file left
    write_config(tmp_path, {})  # replaced atomically: SQLite, nothing stored
    assert read_config(tmp_path) == {}
    assert "SQLite" in path.read_text()


def test_precedence_override_then_environment_then_config_then_default(tmp_path: Path) -> None:
    write_config(tmp_path, {"database_url": "postgresql://db/stored"})
    env = {"CHAINPROOF_DATABASE_URL": "postgresql://db/env"}
    assert Settings.embedded(tmp_path, environ={}).database_url == "postgresql://db/stored"
    assert Settings.embedded(tmp_path, environ=env).database_url == "postgresql://db/env"
    flag = Settings.embedded(tmp_path, environ=env, database_url="postgresql://db/flag")
    assert flag.database_url == "postgresql://db/flag"
    (tmp_path / CONFIG_FILE).write_text("port = 9001\nrun_expiry_seconds = 5\n")
    s = Settings.embedded(tmp_path, environ={"CHAINPROOF_PORT": "9002"})
    assert s.port == 9002 and s.run_expiry_seconds == 5
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'chainproof.db'}"


@pytest.mark.parametrize(
    ("text", "message"),
    [("database_url = ", "not valid TOML"), ('colour = "red"\n', "unknown settings: colour")],
)
def test_bad_config_file_is_invalid_input(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / CONFIG_FILE).write_text(text)
    with pytest.raises(InvalidInput, match=message) as caught:
        Settings.embedded(tmp_path, environ={})
    assert caught.value.hint and CONFIG_FILE in caught.value.hint


def test_only_initialised_data_dirs_have_settings(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist") as missing:
        Settings.of_data_dir(tmp_path / "nope", environ={})
    assert missing.value.hint and "server init" in missing.value.hint
    with pytest.raises(NotFound, match="not a chainproof data dir"):
        Settings.of_data_dir(tmp_path, environ={})
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInput, match="not a directory"):
        Settings.of_data_dir(tmp_path / "file", environ={})
    assert not is_initialised(tmp_path)
    write_config(tmp_path, {"database_url": "postgresql://db/x"})
    assert Settings.of_data_dir(tmp_path, environ={}).database_url == "postgresql://db/x"


def test_data_dirs_from_before_config_files_count_as_initialised(tmp_path: Path) -> None:
    write_secret_key(tmp_path, "k" * 64)
    assert is_initialised(tmp_path)
    assert Settings.of_data_dir(tmp_path, environ={}).secret_key.get_secret_value()


def test_drift_settings_from_the_environment(tmp_path: Path) -> None:
    from datetime import timedelta

    env = {
        "CHAINPROOF_DRIFT_FAILING_RUNS": "5",
        "CHAINPROOF_DRIFT_STOPPED_FLOOR_SECONDS": "7200",
        "CHAINPROOF_DRIFT_CADENCE_FACTOR": "2.5",
        "CHAINPROOF_FINDINGS_CHECK_SECONDS": "60",
    }
    s = Settings.embedded(tmp_path, environ=env)
    assert s.findings_check_seconds == 60
    assert s.drift.failing_runs == 5 and s.drift.cadence_factor == 2.5
    assert s.drift.stopped_floor == timedelta(hours=2)
    assert Settings.embedded(tmp_path, environ={}).drift.failing_runs == 3
    with pytest.raises(InvalidInput):
        _ = Settings.embedded(tmp_path, environ={"CHAINPROOF_DRIFT_FAILING_RUNS": "0"}).drift


def test_a_bad_value_names_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="environment variable CHAINPROOF_AUTO_MIGRATE") as env:
        Settings.embedded(tmp_path, environ={"CHAINPROOF_AUTO_MIGRATE": "maybe"})
    assert "'maybe'" in env.value.message and env.value.hint
    with pytest.raises(InvalidInput, match=r"^--port is not valid"):
        Settings.embedded(tmp_path, environ={}, port="eighty")
    (tmp_path / CONFIG_FILE).write_text('run_expiry_seconds = "soon"\n')
    where = f"run_expiry_seconds in {tmp_path.resolve() / CONFIG_FILE}"
    with pytest.raises(InvalidInput, match=re.escape(where)):
        Settings.embedded(tmp_path, environ={})
    # A valid value from a source that comes first hides the bad one below it.
    fixed = Settings.embedded(tmp_path, environ={"CHAINPROOF_RUN_EXPIRY_SECONDS": "60"})
    assert fixed.run_expiry_seconds == 60
    with pytest.raises(InvalidInput, match="unknown setting 'colour'"):
        Settings.embedded(tmp_path, environ={}, colour="red")


def test_auto_migrate_is_on_unless_turned_off(tmp_path: Path) -> None:
    assert Settings.embedded(tmp_path, environ={}).auto_migrate is True
    for off in ("false", "0", "no", "FALSE"):
        env = {"CHAINPROOF_AUTO_MIGRATE": off}
        assert Settings.embedded(tmp_path, environ=env).auto_migrate is False
    (tmp_path / CONFIG_FILE).write_text("auto_migrate = false\n")
    assert Settings.embedded(tmp_path, environ={}).auto_migrate is False
    on = {"CHAINPROOF_AUTO_MIGRATE": "true"}
    assert Settings.embedded(tmp_path, environ=on).auto_migrate is True


def test_the_data_dir_comes_only_from_the_caller(tmp_path: Path) -> None:
    env = {"CHAINPROOF_DATA_DIR": "/elsewhere", "CHAINPROOF_TOKEN": "cp_client_side"}
    assert Settings.embedded(tmp_path, environ=env).data_dir == tmp_path.resolve()
    (tmp_path / CONFIG_FILE).write_text('data_dir = "/elsewhere"\n')
    with pytest.raises(InvalidInput, match="unknown settings: data_dir"):
        Settings.embedded(tmp_path, environ={})


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    write_secret_key(tmp_path, "k" * 64)
    write_config(tmp_path, {"database_url": "postgresql://db/stored"})
    env = {"CHAINPROOF_SECRET_KEY": "", "CHAINPROOF_DATABASE_URL": "", "CHAINPROOF_PORT": ""}
    s = Settings.embedded(tmp_path, environ=env)
    assert s.secret_key.get_secret_value() == "k" * 64
    assert s.database_url == "postgresql://db/stored" and s.port == 8000


def test_settings_are_frozen_and_copied_with_changes(tmp_path: Path) -> None:
    s = Settings.embedded(tmp_path, environ={})
    with pytest.raises(ValidationError):
        s.port = 1  # type: ignore[misc]
    assert s.model_copy(update={"port": 1}).base_url == "http://127.0.0.1:1"
