"""JSON Schema validation against the schemas vendored in ``schemas/`` (see its README).

jsonschema is imported on first use; each validator is built once per process.
"""

from __future__ import annotations

import functools
import itertools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from chainproof.core.materials._common import shorten
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

MAX_REPORTED_ERRORS = 3
_COUNT_ERRORS_UP_TO = 100


@functools.cache
def schema_validator(filename: str) -> Validator:
    """The validator of ``schemas/<filename>``, for the draft the schema declares."""
    from jsonschema.validators import validator_for

    text = resources.files("chainproof.core.materials").joinpath("schemas", filename)
    schema = json.loads(text.read_text(encoding="utf-8"))
    validator: Validator = validator_for(schema)(schema)
    return validator


def format_error(error: Any, at: str | None = None) -> str:
    """``runs[0].level: 'fatal' is not one of [...]`` for one jsonschema error (its path
    under ``at`` when the validated value is part of a larger document)."""
    from jsonschema.exceptions import best_match

    deepest = best_match([error]) or error
    where = str(deepest.json_path)
    where = where.removeprefix("$.").removeprefix("$")
    if at:
        where = f"{at}.{where}" if where and not where.startswith("[") else at + where
    return f"{where or 'document'}: {shorten(str(deepest.message), 160)}"


def check_schema(
    filename: str,
    doc: Any,
    *,
    document: str,
    label: str,
    hint: str | None,
    at: str | None = None,
) -> None:
    """MaterialError ``<document> is not a valid <label>: <first errors>`` unless ``doc``
    validates against ``schemas/<filename>`` (``at`` names where ``doc`` sits in the file)."""
    errors = list(
        itertools.islice(schema_validator(filename).iter_errors(doc), _COUNT_ERRORS_UP_TO + 1)
    )
    if not errors:
        return
    shown = "; ".join(format_error(e, at) for e in errors[:MAX_REPORTED_ERRORS])
    more = len(errors) - MAX_REPORTED_ERRORS
    if more > 0:
        shown += f" (and {more}{'+' if len(errors) > _COUNT_ERRORS_UP_TO else ''} more)"
    raise MaterialError(f"{document} is not a valid {label}: {shown}", hint=hint)
