"""The overview's rules: compliance over the recent window, compliant, lagging, failing,
and which contracts leave a workflow unmanaged."""

from __future__ import annotations

import pytest

from chainproof.core.contract import Contract
from chainproof.core.overview import FAILING_RUNS, RECENT, History, assess, requires_nothing


def test_compliance_counts_clean_successes_on_the_newest_revision() -> None:
    state = assess(History(5, "svsbs", [3, 3, 2, 3, 3], 3), 3)
    assert state.compliance == 0.4  # s@3 and s@3; v has a violation, s@2 is an older revision
    assert state.compliant and not state.lagging and not state.failing


def test_no_finished_run_has_no_compliance() -> None:
    state = assess(History(1, "", [], None), 1)
    assert state.compliance is None and not state.compliant
    assert not state.lagging and not state.failing


def test_only_the_recent_window_counts() -> None:
    recent = "f" + "s" * (RECENT + 5)
    state = assess(History(len(recent), recent, [1] * len(recent), 1), 1)
    assert state.compliance == (RECENT - 1) / RECENT


def test_lagging_is_a_last_success_on_an_older_revision() -> None:
    state = assess(History(2, "ss", [1, 1], 1), 2)
    assert state.lagging and not state.compliant and state.compliance == 0.0
    assert not assess(History(1, "f", [1], None), 2).lagging  # never succeeded: not lagging


@pytest.mark.parametrize(
    ("recent", "failing"),
    [("fbe", True), ("fbes", True), ("ffc", False), ("ff", False), ("sff", False)],
)
def test_failing_needs_the_last_runs_all_failed_expired_or_blocked(
    recent: str, failing: bool
) -> None:
    assert FAILING_RUNS == 3
    state = assess(History(len(recent), recent, [1] * len(recent), None), 1)
    assert state.failing is failing


def test_requires_nothing() -> None:
    assert requires_nothing(Contract.empty("p-w").to_dict())
    runner_only = Contract.parse(
        "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: c}\n"
        "spec:\n  runner: {type: GITHUB_ACTION}\n"
    )
    assert not requires_nothing(runner_only.to_dict())
    sbom = Contract.parse(
        "apiVersion: chainloop.dev/v1\nkind: Contract\nmetadata: {name: c}\n"
        "spec:\n  materials:\n    - {type: SBOM_CYCLONEDX_JSON, name: sbom}\n"
    )
    assert not requires_nothing(sbom.to_dict())
