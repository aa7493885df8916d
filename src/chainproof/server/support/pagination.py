"""Cursor pagination for list endpoints (``{"items", "next_cursor"}``)."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from chainproof.errors import InvalidInput

MAX_LIMIT = 500


def page(
    session: Session, stmt: Select[Any], limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """Rows of ``stmt`` (already ordered) after ``cursor``, and the next cursor."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    offset = _decode(cursor)
    rows = list(session.scalars(stmt.offset(offset).limit(limit + 1)))
    more = len(rows) > limit
    return rows[:limit], _encode(offset + limit) if more else None


def offset_of(cursor: str | None) -> int:
    """The position a cursor stands for (0 without one); InvalidInput when malformed. For
    lists assembled in Python rather than by one statement (see services/policies.py)."""
    return _decode(cursor)


def cursor_at(offset: int) -> str:
    """The cursor that continues a list at ``offset``."""
    return _encode(offset)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "o":
            raise ValueError(raw)
        return max(0, int(value))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "invalid cursor", hint="pass next_cursor from the previous page"
        ) from None


def items(rows: list[Any], next_cursor: str | None) -> dict[str, Any]:
    """The list envelope."""
    return {"items": rows, "next_cursor": next_cursor}
