"""The SQL statements an app sends inside a block, for the tests that hold statement budgets
(issue 16): counts, not times, so they fail when a change brings repeated round trips back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from tests.integration.conftest import Env


@contextmanager
def recorded(env: Env, keep: Callable[[str], bool] = lambda _: True) -> Iterator[list[str]]:
    """The statements ``env``'s engine sends in the block (those ``keep`` accepts), in order.
    The log's batches use an engine of their own, which forwards its statements here."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if keep(statement):
            seen.append(statement)

    engine = env.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
