"""The one JSON reader for untrusted documents: duplicate keys and runaway nesting refused.

``json.loads`` keeps the last of two equal keys, so ``{"digest": A, "digest": B}`` means B to
us and possibly A to another tool that reads the same bytes (a parser differential: what was
verified is not what is used). RFC 8259 §4 leaves duplicate names undefined; we refuse them.
A document nested 100k levels deep makes the decoder raise RecursionError, which no caller
expected; here it becomes an error that names the problem.

:class:`JsonError` is an :class:`~chainproof.errors.InvalidInput` (exit 2, HTTP 400) and a
``ValueError``, so callers that already turn ``json.loads``'s ``ValueError`` into their own
message (naming their file) keep doing so, and the others still report a clean error.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from chainproof.errors import InvalidInput

__all__ = ["JsonError", "loads"]


class JsonError(InvalidInput, ValueError):
    """A JSON text that parses but is refused: a repeated key, or nesting too deep."""

    code: ClassVar[str] = "invalid_json"


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # built in C: the common case costs one call per object
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise JsonError(
                f"duplicate key {json.dumps(key)} in a JSON object",
                hint="each key may appear once per object; remove or rename the repeated one",
            )
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")


def loads(text: str | bytes | bytearray) -> Any:
    """``json.loads(text)`` refusing duplicate keys and nesting deeper than the interpreter's
    recursion limit (about 1000); JsonError for those, ``json.JSONDecodeError`` (a
    ValueError) and ``UnicodeDecodeError`` for text that is not JSON, as ``json.loads``."""
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates)
    except RecursionError:
        raise JsonError(
            "the JSON document is nested too deeply",
            hint="no evidence or API document nests that deep; check how it was produced",
        ) from None
