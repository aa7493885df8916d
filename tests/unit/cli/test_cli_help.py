"""Every group and command answers --help; the root stays light to import."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from chainproof import __version__
from chainproof.cli.main import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: Any, prefix: list[str]) -> None:
        paths.append(prefix)
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


PATHS = _command_paths()


def test_command_tree() -> None:
    names = {" ".join(p) for p in PATHS}
    expected = {
        "server init",
        "server start",
        "auth status",
        "project create",
        "project list",
        "workflow create",
        "workflow list",
        "workflow describe",
        "workflow contract create",
        "workflow contract update",
        "workflow contract describe",
        "workflow contract list",
        "workflow run list",
        "workflow run describe",
        "api-token create",
        "api-token list",
        "api-token revoke",
        "attestation init",
        "attestation add",
        "attestation status",
        "attestation push",
        "attestation reset",
        "artifact upload",
        "artifact download",
    }
    assert expected <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "root")
def test_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize("path", [p for p in PATHS if len(p) >= 2], ids=" ".join)
def test_leaf_help_has_example(path: list[str]) -> None:
    cmd: Any = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    if hasattr(cmd, "commands"):
        return
    assert "Example:" in (cmd.help or "")
    assert "chainproof " in (cmd.help or "").split("Example:")[1]


def test_no_args_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage:" in result.output
    assert result.exit_code in (0, 2)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"chainproof {__version__}"


def test_unknown_command_is_usage_error() -> None:
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


def test_command_table_matches_the_commands() -> None:
    """The root's --help lists commands from a static table (so that it imports none of
    them): each entry's one-line help must be the real command's, in the same order."""
    from chainproof.cli import _commands

    root: Any = typer.main.get_command(app)
    real = {name: root.commands[name] for name in _commands.COMMANDS}
    for name, (_, line) in _commands.COMMANDS.items():
        assert real[name].name == name
        assert real[name].get_short_help_str(1000) == line, name
    listed = [line.split()[0] for line in _root_help_commands()]
    assert listed == list(_commands.COMMANDS)


def _root_help_commands() -> list[str]:
    text = runner.invoke(app, ["--help"]).output
    block = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines() if line[:4].strip()]


def test_unknown_command_suggests_a_lazy_one() -> None:
    result = runner.invoke(app, ["attestatio"])
    assert result.exit_code == 2
    assert "Did you mean 'attestation'?" in result.output
