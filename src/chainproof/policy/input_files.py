"""Chainloop's ``--policy-input-from-file [POLICY:]INPUT=FILE[:COLUMN]``: a policy input fed
from one column of a CSV file or one field of a JSON file, appended to the contract's value.

As Chainloop reads it: the column defaults to the input name and is the part after the last
``:`` when that part holds no path separator (so ``C:\\data\\x.csv`` keeps its drive letter);
the format comes from the extension (``.json``; ``.csv``, ``.tsv``, ``.txt``), else from the
content (a leading ``[`` or ``{`` is JSON). CSV: a header row, comma or tab separated, the
column matched case-insensitively. JSON: an array of strings, an array of objects (the field
of each), or an object whose field is an array of strings. Blank values are dropped.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from chainproof.errors import InvalidInput

__all__ = ["column_values", "split_spec"]

_FORM = "--policy-input-from-file takes [POLICY:]INPUT=FILE[:COLUMN] or a YAML/JSON map file"


def split_spec(text: str) -> tuple[str, Path, str | None]:
    """``[POLICY:]INPUT``, the file and the column (None: the input's name) of ``text``."""
    key, _, rhs = text.partition("=")
    rhs = rhs.strip()
    if not key.strip() or not rhs:
        raise InvalidInput(f"--policy-input-from-file {text!r}: missing input or file", hint=_FORM)
    file, column = rhs, None
    head, sep, tail = rhs.rpartition(":")
    if sep and tail.strip() and not any(c in tail for c in "/\\"):
        file, column = head.strip(), tail.strip()
    if not file:
        raise InvalidInput(f"--policy-input-from-file {text!r}: missing file", hint=_FORM)
    return key.strip(), Path(file), column


def column_values(path: Path, column: str) -> list[str]:
    """The non-blank values of ``column`` in the CSV or JSON file ``path``."""
    origin = f"--policy-input-from-file {path}"
    try:
        text = path.read_text(encoding="utf-8-sig")  # a Windows BOM is not part of the header
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{origin}: cannot read it ({err})") from None
    suffix = path.suffix.lower()
    is_json = suffix == ".json" or (
        suffix not in (".csv", ".tsv", ".txt") and text.lstrip()[:1] in ("[", "{")
    )
    values = _json_column(text, column, origin) if is_json else _csv_column(text, column, origin)
    return [v.strip() for v in values if v.strip()]


def _csv_column(text: str, column: str, origin: str) -> list[str]:
    lines = text.splitlines()
    if not lines:
        raise InvalidInput(f"{origin}: the file is empty", hint="a header row, then values")
    delimiter = "\t" if "\t" in lines[0] and "," not in lines[0] else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = [h.strip().lower() for h in rows[0]]
    if column.strip().lower() not in header:
        raise InvalidInput(
            f"{origin}: no column {column!r} in its header ({', '.join(rows[0])})",
            hint="name the column: INPUT=FILE:COLUMN",
        )
    at = header.index(column.strip().lower())
    return [row[at] for row in rows[1:] if at < len(row)]


def _json_column(text: str, column: str, origin: str) -> list[str]:
    try:
        data: Any = json.loads(text)
    except ValueError as err:
        raise InvalidInput(f"{origin}: not valid JSON ({err})") from None
    wanted = column.strip().lower()
    if isinstance(data, list) and all(isinstance(v, str) for v in data):
        return list(data)
    if isinstance(data, list) and all(isinstance(v, dict) for v in data):
        return [str(v) for obj in data for k, v in obj.items() if k.strip().lower() == wanted]
    if isinstance(data, dict):
        for key, value in data.items():
            if key.strip().lower() == wanted:
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    return list(value)
                raise InvalidInput(f"{origin}: {key!r} is not an array of strings")
        raise InvalidInput(f"{origin}: no key {column!r} in the JSON object")
    raise InvalidInput(
        f"{origin}: expected an array of strings, an array of objects, or an object",
        hint='e.g. ["a", "b"] or {"' + column + '": ["a", "b"]}',
    )
