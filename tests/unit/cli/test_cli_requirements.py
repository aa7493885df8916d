"""Parsing ``--diff`` ranges and ``--contract-grace`` durations, and init's plain words."""

from __future__ import annotations

import pytest
import typer

from chainproof.cli.contract import parse_range
from chainproof.cli.org import parse_grace
from chainproof.client.attestation.opening import _announce_requirements
from chainproof.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3..4", (3, 4)), ("3..", (3, None)), ("..4", (None, 4)), (" 1 .. 12 ", (1, 12))],
)
def test_revision_ranges(text: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["4..3", "3..3", "..", "3", "a..b", "0..2", "3-4"])
def test_bad_revision_ranges_are_input_errors_with_a_hint(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_range(text)
    assert err.value.exit_code == 2 and err.value.hint


@pytest.mark.parametrize(
    ("text", "seconds"), [("14d", 14 * 86400), ("36h", 36 * 3600), ("1s", 1), ("0", 0)]
)
def test_grace_durations(text: str, seconds: int) -> None:
    assert parse_grace(text) == seconds


@pytest.mark.parametrize("text", ["14", "two weeks", "-1d", ""])
def test_bad_grace_durations(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_grace(text)


def test_init_says_what_is_new_and_the_deadline_in_plain_words() -> None:
    said: list[str] = []
    info = {
        "name": "release",
        "revision": 3,
        "new_requirements": {
            "contract": "release",
            "since_revision": 2,
            "changes": [
                {"section": "materials", "op": "+", "name": "dockerfile", "detail": "ARTIFACT"},
                {"section": "policies", "op": "+", "name": "sbom-ntia", "detail": ""},
            ],
        },
        "deadline": {"revision": 4, "at": "2026-01-20T09:00:00Z"},
    }
    _announce_requirements(info, said.append)
    assert said == [
        'new since revision 2: material "dockerfile" (ARTIFACT), policy "sbom-ntia"',
        "contract release revision 4 becomes required on 2026-01-20T09:00:00Z "
        "(this run uses revision 3)",
    ]
    said.clear()
    _announce_requirements({"name": "release", "revision": 3}, said.append)
    assert said == []
