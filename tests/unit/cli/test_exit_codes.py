"""The error table in ``chainproof.errors`` is the contract scripts rely on: every class is in
it, with the code, HTTP status and exit code it really has."""

from __future__ import annotations

import re

import chainproof.errors as errors
from chainproof.errors import ChainproofError, _all_subclasses

ROW = re.compile(r"^[\s│├└─]*(\w+)\s+(\w+)\s+(\d{3})\s+(\d)$")


def _table() -> dict[str, tuple[str, int, int]]:
    rows: dict[str, tuple[str, int, int]] = {}
    for line in (errors.__doc__ or "").splitlines():
        match = ROW.match(line.rstrip())
        if match:
            name, code, http, exit_code = match.groups()
            rows[name] = (code, int(http), int(exit_code))
    return rows


def test_every_error_class_is_documented_as_it_behaves() -> None:
    table = _table()
    classes = [c for c in _all_subclasses(ChainproofError) if c is not ChainproofError]
    assert {c.__name__ for c in classes} == set(table)
    for cls in classes:
        assert table[cls.__name__] == (cls.code, cls.http_status, cls.exit_code), cls


def test_exit_codes_follow_the_documented_families() -> None:
    assert errors.InvalidInput.exit_code == 2
    assert all(c.exit_code == 2 for c in _all_subclasses(errors.InvalidInput))
    assert all(c.exit_code == 1 for c in _all_subclasses(errors.CheckFailed))
    assert {errors.NotFound.exit_code, errors.Unauthorized.exit_code} == {3}
    assert errors.Forbidden.exit_code == 3
    assert all(c.exit_code == 4 for c in _all_subclasses(errors.ServiceError))
    # A clash with the current state is neither bad input nor a failed check.
    assert errors.Conflict.exit_code == 5


def test_codes_are_unique_and_machine_readable() -> None:
    codes = [c.code for c in _all_subclasses(ChainproofError)]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z_]+", code) for code in codes)


def test_root_help_lists_the_exit_codes() -> None:
    from typer.testing import CliRunner

    from chainproof.cli.main import app

    shown = " ".join(CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout.split())
    assert (
        "Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 not found or not authorised, "
        "4 server or network error, 5 conflicts with the current state." in shown
    )
