"""Every chainproof command and flag docs/migrating-from-chainloop.md names exists: full
``chainproof ...`` code spans anywhere, and in the guide's tables, flag-only spans of the
chainproof column, checked against the command of the row above."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from chainproof.cli.main import app

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "migrating-from-chainloop.md"
_SPAN = re.compile(r"`([^`]+)`")


def _tree() -> dict[str, set[str]]:
    """Command path ("attestation push") -> its options."""
    root = typer.main.get_command(app)
    out: dict[str, set[str]] = {}

    def options(cmd: Any) -> set[str]:
        names = {o for p in cmd.params for o in [*p.opts, *getattr(p, "secondary_opts", [])]}
        return names | {"--help", "-h"}

    def walk(cmd: Any, path: list[str]) -> None:
        if path == []:
            out[""] = options(cmd)  # the root's own (--url, --token, ...)
        if hasattr(cmd, "list_commands"):
            ctx = cmd.context_class(cmd)
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
            return
        out[" ".join(path)] = options(cmd)

    walk(root, [])
    return out


def _resolve(tree: dict[str, set[str]], words: list[str]) -> tuple[str, list[str]]:
    """The longest command path ``words`` starts with, and the words after it."""
    for n in range(len(words), -1, -1):
        if " ".join(words[:n]) in tree:
            command, rest = " ".join(words[:n]), words[n:]
            # the root takes options only: a word after it is a command that does not exist
            if command or not rest or rest[0].startswith("-"):
                return command, rest
            break
    raise AssertionError(f"no command chainproof {' '.join(words)}")


def _flags(words: list[str]) -> list[str]:
    return [w.split("=")[0] for w in words if w.startswith("-")]


def test_every_command_and_flag_in_the_guide_exists() -> None:
    tree = _tree()
    checked = 0
    current: str | None = None
    for line in GUIDE.read_text().splitlines():
        cells = line.split(" | ")
        column = cells[1] if line.startswith("|") and len(cells) > 2 else None
        for span in _SPAN.findall(line):
            if not span.startswith("chainproof "):
                continue
            command, rest = _resolve(tree, span.split()[1:])
            for flag in _flags(rest):
                assert flag in tree[command], f"chainproof {command} has no {flag}"
            checked += 1
        if column is None:
            continue
        spans = _SPAN.findall(column)
        full = [s for s in spans if s.startswith("chainproof ")]
        if full:
            current = _resolve(tree, full[0].split()[1:])[0]
            continue
        for span in spans:
            if span.startswith("-") and current is not None:
                for flag in re.split(r"[ /,]+", span):
                    if flag.startswith("-"):
                        assert flag in tree[current], f"chainproof {current} has no {flag}"
                        checked += 1
    assert checked > 40  # the guide's tables were read


def test_the_check_refuses_what_does_not_exist() -> None:
    import pytest

    tree = _tree()
    with pytest.raises(AssertionError, match="no command chainproof teleport -d x"):
        _resolve(tree, ["teleport", "-d", "x"])
    command, rest = _resolve(tree, ["attestation", "push", "--no-such-flag"])
    assert command == "attestation push" and _flags(rest)[0] not in tree[command]
