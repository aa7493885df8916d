"""One grammar for durations and points in time (CLI flags and the API's ``since``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chainproof.core.moments import duration_seconds, point_in_time

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("90m", 5400),
        ("12h", 43200),
        ("7d", 604800),
        ("2w", 1209600),
        (" 3 D ", 259200),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "d", "7y", "-1d", "1.5h", "last tuesday"])
def test_not_durations(text: str) -> None:
    assert duration_seconds(text) is None


def test_points_in_time() -> None:
    assert point_in_time("7d", NOW) == NOW - timedelta(days=7)
    assert point_in_time("2026-12-01", NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    assert point_in_time("2026-12-01T10:00:00Z", NOW) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    later = point_in_time("2026-12-01T10:00:00+02:00", NOW)
    assert later == datetime(2026, 12, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError):
        point_in_time("last tuesday", NOW)
