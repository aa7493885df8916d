"""docs/configuration.md lists every setting: the server table is generated from the Settings
model and must match it; the client table must name every variable the CLI and client read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import Field

from chainproof.server.settings import Settings
from chainproof.server.settings_doc import BEGIN, END, main, server_table, updated

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "configuration.md"
SRC = ROOT / "src" / "chainproof"
_NAME = re.compile(r"\bCHAINPROOF_[A-Z0-9_]*[A-Z0-9]\b")
# Literal reads of the environment: environ["X"], environ.get("X").
_READ = re.compile(r"environ(?:\.get)?[\[(]\s*[\"']([A-Z][A-Z0-9_]+)[\"']")
_CLIENT_DIRS = ("cli", "client", "oci", "cas")


def _stale_message() -> str:
    return "docs/configuration.md is out of date: run python -m chainproof.server.settings_doc"


def test_server_table_matches_the_settings_model() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert updated(text) == text, _stale_message()


def test_every_setting_has_a_description_and_a_row() -> None:
    table = server_table()
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} needs Field(description=...)"
        if name != "data_dir":
            assert f"| `{name}` | `CHAINPROOF_{name.upper()}` |" in table


def test_a_new_field_makes_the_doc_stale(tmp_path: Path) -> None:
    class Wider(Settings):
        shiny_new_knob: int = Field(7, description="A knob another lane adds.")

    text = DOC.read_text(encoding="utf-8")
    assert updated(text, Wider) != text
    row = "| `shiny_new_knob` | `CHAINPROOF_SHINY_NEW_KNOB` | — | integer | `7` |"
    assert row in updated(text, Wider)


def test_the_generator_checks_and_rewrites(tmp_path: Path) -> None:
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# hand-written\n\n{BEGIN}\n| old |\n{END}\n\nmore by hand\n")
    assert main(["--doc", str(doc), "--check"]) == 1
    assert main(["--doc", str(doc)]) == 0
    assert main(["--doc", str(doc), "--check"]) == 0
    text = doc.read_text()
    assert text.startswith("# hand-written\n") and text.endswith("more by hand\n")
    assert "| old |" not in text and "`CHAINPROOF_AUTO_MIGRATE`" in text


def _options(command: Any) -> Iterator[Any]:
    """The parameters of a command and its subcommands (Typer ships its own click: duck-typed)."""
    yield from command.params
    for sub in getattr(command, "commands", {}).values():
        yield from _options(sub)


def _cli_envvars() -> set[str]:
    from chainproof.cli.main import app

    names: set[str] = set()
    for param in _options(typer.main.get_command(app)):
        envvar = getattr(param, "envvar", None)
        names.update([envvar] if isinstance(envvar, str) else envvar or [])
    return names


def _source_names() -> set[str]:
    """Every CHAINPROOF_* name written anywhere in the package, and the variables the client
    side reads by name."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(_NAME.findall(text))
        if path.relative_to(SRC).parts[0] in _CLIENT_DIRS:
            names.update(_READ.findall(text))
    return names


def test_every_environment_variable_is_documented() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOC.read_text(encoding="utf-8")))
    found = _cli_envvars() | _source_names()
    assert {"CHAINPROOF_TOKEN", "CHAINPROOF_PROGRESS_INTERVAL", "COSIGN_PASSWORD"} <= found
    missing = sorted(found - documented)
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_the_client_table_names_no_variable_that_is_gone() -> None:
    text = DOC.read_text(encoding="utf-8")
    client = text.partition("## Command-line client")[2]
    listed = set(_NAME.findall(client))
    gone = sorted(listed - _cli_envvars() - _source_names())
    assert not gone, f"no code reads {gone}: remove them from docs/configuration.md"


def test_the_upgrade_notes_name_every_shipped_migration() -> None:
    from chainproof.server.db.migrate import history

    notes = (ROOT / "docs" / "upgrading.md").read_text(encoding="utf-8")
    missing = [r["revision"] for r in history() if f"| `{r['revision']}` |" not in notes]
    assert not missing, f"add upgrade notes for migrations {missing} to docs/upgrading.md"
