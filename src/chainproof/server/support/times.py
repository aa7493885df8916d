"""RFC 3339 UTC rendering of timestamps (``2026-11-25T06:00:00Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(value: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS(.ffffff)Z`` or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
