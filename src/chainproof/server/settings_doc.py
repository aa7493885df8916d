"""docs/configuration.md's table of server settings, generated from :class:`Settings`.

    python -m chainproof.server.settings_doc           # rewrite the table in the doc
    python -m chainproof.server.settings_doc --check   # exit 1 if the doc is out of date

Only the part between the markers is generated; the rest of the doc is written by hand.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from chainproof.server.settings import Settings, env_name

__all__ = ["BEGIN", "DOC", "END", "server_table", "updated"]

DOC = Path("docs/configuration.md")
BEGIN = (
    "<!-- BEGIN server settings: generated from server/settings.py by "
    "`python -m chainproof.server.settings_doc`; do not edit by hand -->"
)
END = "<!-- END server settings -->"

_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret",
}


def server_table(model: type[Settings] = Settings) -> str:
    """One Markdown row per field of ``model``: config.toml key, environment variable, flag,
    type, default and meaning."""
    rows = [
        "| config.toml key | environment variable | flag | type | default | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        in_files = extra.get("env") is not False
        flag = extra.get("flag")
        cells = [
            f"`{name}`" if in_files else "—",
            f"`{env_name(name)}`" if in_files else "—",
            f"`{flag}`" if flag else "—",
            _type(field.annotation),
            str(extra.get("default_text") or _default(field)),
            _cell(field.description or ""),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def updated(text: str, model: type[Settings] = Settings) -> str:
    """``text`` (the doc) with the generated table replaced by the current one."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the doc lacks the markers {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n{server_table(model)}{END}{tail}"


def _type(annotation: Any) -> str:
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [_TYPES.get(a, getattr(a, "__name__", str(a))) for a in args if a is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " or ".join(kinds) + optional
    return _TYPES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "empty"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", type=Path, default=DOC, help=f"the doc (default {DOC})")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    fresh = updated(text)
    if fresh == text:
        return 0
    if args.check:
        print(f"{args.doc} is out of date: run python -m chainproof.server.settings_doc")
        return 1
    args.doc.write_text(fresh, encoding="utf-8")
    print(f"updated {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
