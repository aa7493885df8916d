"""Every test of tests/e2e carries the ``e2e`` marker, so ``pytest -m e2e`` runs them."""

from __future__ import annotations

import pytest


def test_e2e_tests_carry_the_e2e_marker(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("e2e") is not None
