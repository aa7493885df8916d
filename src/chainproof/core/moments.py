"""Durations and points in time as people type them: ``90m``, ``12h``, ``7d``, ``2w`` (ages
back from now), ``2026-12-01`` or an RFC 3339 time. One grammar for the CLI's ``--since`` /
``--until`` / ``--expires`` and the API's ``since``; each caller words its own error."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["duration_seconds", "point_in_time"]

_DURATION = re.compile(r"\s*(\d+)\s*([smhdw])\s*")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> int | None:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` → seconds; None when ``text`` is no duration."""
    match = _DURATION.fullmatch(text.lower())
    return int(match.group(1)) * _SECONDS[match.group(2)] if match else None


def point_in_time(text: str, now: datetime) -> datetime:
    """An age back from ``now``, a date (midnight UTC) or a time (UTC when it names no zone);
    ValueError for anything else."""
    seconds = duration_seconds(text)
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
