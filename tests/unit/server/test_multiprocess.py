"""`server start --workers N` plumbing, without starting a server: the setting, the uvicorn
config each worker process receives (pickled, as uvicorn's supervisor sends it), the protocol
reading its head deadline from that config, and a worker that cannot build its app exiting so
that the supervisor stops rather than restarts it. The real processes:
tests/e2e/test_server_workers.py."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from uvicorn.config import STARTUP_FAILURE
from uvicorn.server import ServerState

from chainproof.errors import InvalidInput, ServiceError
from chainproof.server.db.session import make_engine
from chainproof.server.multiprocess import WorkerApp, shared_metrics
from chainproof.server.serving import GuardedConfig, protocol_class, uvicorn_config
from chainproof.server.settings import Settings


@pytest.fixture
def keep_process_state() -> Iterator[None]:
    """WorkerApp sets the umask and the root logger, as a worker process should: put them back."""
    umask = os.umask(0o022)
    os.umask(umask)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    os.umask(umask)
    root.handlers[:] = handlers
    root.setLevel(level)


def _sent(config: GuardedConfig) -> GuardedConfig:
    """``config`` as a worker process receives it from uvicorn's supervisor."""
    return pickle.loads(pickle.dumps(config))  # noqa: S301 - our own bytes, as uvicorn sends


def test_workers_default_to_one_and_come_from_flag_or_environment(tmp_path: Path) -> None:
    assert Settings.embedded(tmp_path, environ={}).workers == 1
    assert Settings.embedded(tmp_path, environ={"CHAINPROOF_WORKERS": "3"}).workers == 3
    assert Settings.embedded(tmp_path, environ={"CHAINPROOF_WORKERS": "3"}, workers=2).workers == 2
    with pytest.raises(InvalidInput, match="--workers is not valid"):
        Settings.embedded(tmp_path, environ={}, workers=0)
    with pytest.raises(InvalidInput, match="CHAINPROOF_DATABASE_MAX_OVERFLOW is not valid"):
        Settings.embedded(tmp_path, environ={"CHAINPROOF_DATABASE_MAX_OVERFLOW": "-1"})


def test_pool_settings_size_the_engine(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db", pool_size=3, max_overflow=1)
    try:
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 1  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_each_worker_receives_the_whole_config_pickled(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("cert")
    (tmp_path / "key.pem").write_text("key")
    settings = Settings.embedded(
        tmp_path,
        environ={"CHAINPROOF_HTTP_HEADER_TIMEOUT_SECONDS": "2.5"},
        secret_key="k" * 32,
        workers=2,
        http_max_connections=7,
        http_keepalive_seconds=9,
        tls_cert=tmp_path / "cert.pem",
        tls_key=tmp_path / "key.pem",
    )
    config = _sent(uvicorn_config(WorkerApp(settings), settings, workers=2))
    assert (config.workers, config.factory) == (2, True)
    assert config.app == WorkerApp(settings)  # the secret key included: settings compare whole
    assert config.app.settings.secret_key.get_secret_value() == "k" * 32
    assert (config.limit_concurrency, config.timeout_keep_alive) == (7, 9)
    assert (config.ssl_certfile, config.ssl_keyfile) == (
        str(tmp_path / "cert.pem"),
        str(tmp_path / "key.pem"),
    )
    assert config.http is protocol_class() and config.header_timeout == 2.5


async def _app(scope: object, receive: object, send: object) -> None:
    """A do-nothing ASGI app (module-level, so that it pickles)."""


def test_the_protocol_reads_its_head_deadline_from_the_config(tmp_path: Path) -> None:
    settings = Settings.embedded(
        tmp_path, environ={"CHAINPROOF_HTTP_HEADER_TIMEOUT_SECONDS": "2.5"}
    )
    config = _sent(uvicorn_config(_app, settings))
    loop = asyncio.new_event_loop()
    try:
        # What a worker creates per connection (it loads the config first).
        protocol = config.http(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        assert protocol.header_timeout == 2.5
    finally:
        loop.close()


@pytest.mark.usefixtures("keep_process_state")
def test_a_worker_that_cannot_build_its_app_exits_as_a_startup_failure(tmp_path: Path) -> None:
    settings = Settings.embedded(tmp_path, environ={}, workers=2)  # no secret key
    with pytest.raises(SystemExit) as exited:
        WorkerApp(settings)()
    # uvicorn's supervisor stops on this code instead of restarting the worker forever.
    assert exited.value.code == STARTUP_FAILURE


def test_the_metrics_directory_is_fresh_private_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in `server start`, prometheus_client is not imported yet when the directory is set.
    monkeypatch.delitem(sys.modules, "prometheus_client", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with shared_metrics(tmp_path) as path:
        assert path.parent == tmp_path and not any(path.iterdir())
        assert path.stat().st_mode & 0o777 == 0o700
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path)  # the workers inherit it
    assert not path.exists() and "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_metrics_already_in_memory_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", sys)  # imported before: too late
    with pytest.raises(ServiceError, match="prometheus_client was imported before"):
        with shared_metrics(tmp_path):
            pass
    assert list(tmp_path.iterdir()) == []
