"""Suite-wide fixtures: paths to the stored test assets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture
def assets() -> Path:
    """The folder of named test files (contracts, SBOMs, keys)."""
    return ASSETS


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a real OCI registry (docker-registry) on loopback."""
    from tests.registry import start_registry

    yield from start_registry(tmp_path_factory.mktemp("registry"))
