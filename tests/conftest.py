"""Suite-wide fixtures: paths to the stored test assets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture(autouse=True)
def _private_config_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the sign-in sessions of whoever runs the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def assets() -> Path:
    """The folder of named test files (contracts, SBOMs, keys)."""
    return ASSETS


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a real OCI registry (docker-registry) on loopback."""
    from tests.registry import start_registry

    yield from start_registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of ``moto_server`` on loopback, an S3 stand-in (tests/cas_servers.py)."""
    from tests.cas_servers import start_moto

    yield from start_moto(tmp_path_factory.mktemp("moto"))


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Connection string of Azurite's blob service on loopback, an Azure stand-in."""
    from tests.cas_servers import start_azurite

    yield from start_azurite(tmp_path_factory.mktemp("azurite"))


@pytest.fixture(scope="session")
def registry_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``(host:port, storage root)`` of a second loopback registry whose files a test may damage
    (the root holds ``docker/registry/v2/blobs/sha256/<ab>/<hex>/data``)."""
    from tests.registry import start_registry

    root = tmp_path_factory.mktemp("registry-storage")
    for host in start_registry(root):
        yield host, root / "data"


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """``(host:port, token requests)`` of a loopback registry behind the Docker token flow
    (tests/registry_auth.py); user ``ci-robot``, password ``s3cret-robot``."""
    from tests.registry_auth import start_token_registry

    root = tmp_path_factory.mktemp("registry-token")
    yield from start_token_registry(root, {"ci-robot": "s3cret-robot"})
