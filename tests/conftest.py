"""Suite-wide fixtures: paths to the stored test assets."""

from __future__ import annotations

from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "assets"


@pytest.fixture
def assets() -> Path:
    """The folder of named test files (contracts, SBOMs, keys)."""
    return ASSETS
