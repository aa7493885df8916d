"""Cursor pagination for list endpoints (``{"items", "next_cursor"}``).

Two kinds of opaque cursor: an offset (``page``, for short lists) and a keyset one
(``keyset_page``, for run lists: stable while rows arrive, fast at any depth; and
``after``/``cursor_after`` for lists in name order, such as the overview's workflows)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

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


def keyset_page(
    session: Session,
    stmt: Select[Any],
    limit: int,
    cursor: str | None,
    *,
    at: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[str],
) -> tuple[list[Any], str | None]:
    """Rows of ``stmt`` newest first by ``(at, key)``, strictly after ``cursor``.

    The cursor names the last row shown, not a position, so rows added meanwhile neither
    repeat nor shift the next page, and every page is an index range scan (no OFFSET).
    """
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if cursor:
        last_at, last_key = _decode_keyset(cursor)
        stmt = stmt.where(or_(at < last_at, and_(at == last_at, key < last_key)))
    rows = list(session.scalars(stmt.order_by(at.desc(), key.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    shown = rows[limit - 1]
    return rows[:limit], _encode_keyset(getattr(shown, at.key), getattr(shown, key.key))


def _encode_keyset(at: datetime, key: str) -> str:
    raw = f"k:{at.astimezone(UTC).isoformat()}|{key}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_keyset(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        at, sep, key = value.partition("|")
        if kind != "k" or not sep or not key:
            raise ValueError(raw)
        when = datetime.fromisoformat(at)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), key
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "invalid cursor", hint="pass next_cursor from the previous page"
        ) from None


def cursor_after(values: Sequence[str]) -> str:
    """The cursor of a list in ascending order of several keys that continues after the row
    whose keys are ``values``."""
    raw = "a:" + json.dumps(list(values), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def after(cursor: str | None, keys: Sequence[Any]) -> ColumnElement[bool] | None:
    """The condition "strictly after the cursor's row" in ascending order of ``keys`` (None
    without a cursor); InvalidInput when the cursor is malformed or of another list.

    Spelled out as ``k1 > v1 OR (k1 = v1 AND k2 > v2) ...`` rather than a row-value
    comparison, so that each key's own collation and type decide, as in ORDER BY."""
    if not cursor:
        return None
    values = _decode_after(cursor, len(keys))
    clauses: list[ColumnElement[bool]] = []
    for n, (key, value) in enumerate(zip(keys, values, strict=True)):
        equal = [k == v for k, v in zip(keys[:n], values[:n], strict=True)]
        clauses.append(and_(*equal, key > value))
    return or_(false(), *clauses)


def _decode_after(cursor: str, size: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        values = json.loads(value) if kind == "a" else None
        if not isinstance(values, list) or len(values) != size:
            raise ValueError(raw)
        if not all(isinstance(v, str) for v in values):
            raise ValueError(raw)
        return values
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "invalid cursor", hint="pass next_cursor from the previous page"
        ) from None


def keyset_cursor(at: datetime, key: str) -> str:
    """The :func:`keyset_page` cursor that continues after the row ``(at, key)``: for lists
    that filter a keyset page further in Python (services/components.py)."""
    return _encode_keyset(at, key)
