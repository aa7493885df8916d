"""The drift rules, one by one, on hand-made run histories."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chainproof.core.drift import (
    SEVERITY,
    DriftSettings,
    RunSummary,
    WorkflowFacts,
    detect,
    learned_cadence,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MANAGED = WorkflowFacts(contract_requires_nothing=False, latest_revision=1)


def run(n: int, status: str = "succeeded", *, day: float | None = None, **kw: object) -> RunSummary:
    """Run ``n`` at ``day`` days after T0 (default: day n)."""
    at = T0 + timedelta(days=n if day is None else day)
    base = RunSummary(
        id=f"run-{n}",
        status=status,
        created_at=at,
        runner_type="GITHUB_ACTION",
        runner_environment="managed",
        contract_revision=1,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def kinds(found: list[object]) -> set[str]:
    return {f.kind for f in found}  # type: ignore[attr-defined]


def newest_first(*runs: RunSummary) -> list[RunSummary]:
    return sorted(runs, key=lambda r: r.created_at, reverse=True)


def test_a_healthy_workflow_has_no_findings() -> None:
    history = newest_first(*(run(n) for n in range(5)))
    assert detect(history, MANAGED, T0 + timedelta(days=5)) == []


def test_unmanaged_when_the_contract_requires_nothing() -> None:
    facts = replace(MANAGED, contract_requires_nothing=True)
    (found,) = detect([], facts, T0)
    assert found.kind == "unmanaged" and found.severity == "medium" and found.evidence == ()


def test_cadence_is_the_median_gap_of_recent_runs() -> None:
    history = newest_first(run(0), run(1), run(3), run(4))  # gaps 1, 2, 1 days
    assert learned_cadence(history, DriftSettings()) == timedelta(days=1)
    assert learned_cadence(history[:2], DriftSettings()) is None  # too few runs to learn


def test_stopped_after_three_times_the_learned_cadence() -> None:
    history = newest_first(*(run(n, day=n * 2) for n in range(4)))  # every 2 days, last day 6
    assert "stopped" not in kinds(detect(history, MANAGED, T0 + timedelta(days=11, hours=23)))
    found = detect(history, MANAGED, T0 + timedelta(days=12, hours=1))
    (stopped,) = [f for f in found if f.kind == "stopped"]
    assert stopped.evidence == ("run-3",)
    assert stopped.details["allowed_seconds"] == 6 * 86400 and stopped.details["learned"]


def test_stopped_floor_protects_fast_workflows() -> None:
    history = newest_first(*(run(n, day=n / 24) for n in range(5)))  # hourly
    settings = DriftSettings(stopped_floor=timedelta(days=1))
    last = history[0].created_at
    assert detect(history, MANAGED, last + timedelta(hours=20), settings) == []
    assert kinds(detect(history, MANAGED, last + timedelta(hours=25), settings)) == {"stopped"}


def test_stopped_override_wins_even_without_history_to_learn_from() -> None:
    history = [run(0)]
    facts = replace(MANAGED, cadence_override=timedelta(days=30))
    assert detect(history, MANAGED, T0 + timedelta(days=90)) == []  # nothing learned
    assert detect(history, facts, T0 + timedelta(days=29)) == []
    (found,) = detect(history, facts, T0 + timedelta(days=31))
    assert found.kind == "stopped" and found.details["learned"] is False


def test_failing_after_k_failed_expired_or_blocked_runs() -> None:
    history = newest_first(
        run(0), run(1, "failed"), run(2, "expired"), run(3, "cancelled"), run(4, "blocked")
    )
    (found,) = [f for f in detect(history, MANAGED, T0 + timedelta(days=4)) if f.kind != "stopped"]
    assert found.kind == "failing" and found.evidence == ("run-4", "run-2", "run-1")
    assert found.details["statuses"] == ["blocked", "expired", "failed"]
    fewer = DriftSettings(failing_runs=4)
    assert "failing" not in kinds(detect(history, MANAGED, T0 + timedelta(days=4), fewer))
    recovered = [run(5), *history]
    assert "failing" not in kinds(detect(recovered, MANAGED, T0 + timedelta(days=5)))


def test_regressed_when_a_material_annotation_or_policy_goes_missing() -> None:
    before = run(
        0,
        material_kinds=frozenset({"SBOM_CYCLONEDX_JSON", "CONTAINER_IMAGE"}),
        annotations=frozenset({"team"}),
        policies_passed=frozenset({"sbom-ntia", "no-secrets"}),
    )
    after = run(
        1,
        material_kinds=frozenset({"CONTAINER_IMAGE"}),
        annotations=frozenset(),
        policies_passed=frozenset({"no-secrets"}),
        policies_failed=frozenset({"sbom-ntia"}),
    )
    (found,) = detect([after, before], MANAGED, T0 + timedelta(days=1))
    assert found.kind == "regressed" and found.severity == "high"
    assert found.evidence == ("run-1", "run-0")
    assert found.details["material_kinds"] == ["SBOM_CYCLONEDX_JSON"]
    assert found.details["annotations"] == ["team"]
    assert found.details["policies"] == ["sbom-ntia"]
    assert found.details["policies_failing"] == ["sbom-ntia"]


def test_regressed_stays_open_until_what_went_missing_is_back() -> None:
    sbom = frozenset({"SBOM_CYCLONEDX_JSON"})
    history = [run(2), run(1)]  # both without the SBOM the finding recorded
    facts = replace(MANAGED, still_missing={"material_kinds": ("SBOM_CYCLONEDX_JSON",)})
    assert kinds(detect(history, facts, T0 + timedelta(days=2))) == {"regressed"}
    assert detect(history, MANAGED, T0 + timedelta(days=2)) == []  # nothing recorded: fine
    back = [run(3, material_kinds=sbom), *history]
    assert detect(back, facts, T0 + timedelta(days=3)) == []


def test_regressed_ignores_failed_runs() -> None:
    full = run(0, material_kinds=frozenset({"ARTIFACT"}))
    history = [run(1, "failed"), full]
    assert detect(history, MANAGED, T0 + timedelta(days=1)) == []


def test_runner_changed_from_the_usual_runner_type() -> None:
    history = [run(3, runner_type="GENERIC", runner_environment="unknown")]
    history += [run(2), run(1), run(0)]
    (found,) = detect(history, MANAGED, T0 + timedelta(days=3))
    assert found.kind == "runner-changed"
    assert found.details == {"from": "GITHUB_ACTION", "to": "GENERIC"}
    assert found.evidence == ("run-3", "run-2")
    back = [run(4), *history]
    assert detect(back, MANAGED, T0 + timedelta(days=4)) == []


def test_runner_changed_to_a_self_hosted_machine() -> None:
    history = [run(2, runner_environment="self-hosted"), run(1), run(0)]
    (found,) = detect(history, MANAGED, T0 + timedelta(days=2))
    assert found.kind == "runner-changed"
    assert found.details["from"] == "managed" and found.details["to"] == "self-hosted"
    always = [run(n, runner_environment="self-hosted") for n in (2, 1, 0)]
    assert detect(always, MANAGED, T0 + timedelta(days=2)) == []


def test_runner_baseline_follows_a_lasting_move() -> None:
    moved = [run(n, runner_type="GENERIC") for n in (6, 5, 4, 3)]
    history = [*moved, run(2), run(1), run(0)]  # mostly GENERIC now
    assert detect(history, MANAGED, T0 + timedelta(days=6)) == []


def test_lagging_when_the_last_success_is_on_an_older_revision() -> None:
    facts = replace(MANAGED, latest_revision=3)
    history = [run(1, "failed", contract_revision=3), run(0, contract_revision=2)]
    (found,) = detect(history, facts, T0 + timedelta(days=1))
    assert found.kind == "lagging" and found.severity == "low"
    assert found.details == {"revision": 2, "latest_revision": 3}
    caught_up = [run(2, contract_revision=3), *history]
    assert detect(caught_up, facts, T0 + timedelta(days=2)) == []


def test_every_kind_has_a_severity() -> None:
    assert set(SEVERITY) == {
        "stopped",
        "failing",
        "regressed",
        "runner-changed",
        "lagging",
        "unmanaged",
    }
    assert set(SEVERITY.values()) <= {"high", "medium", "low"}


def test_lagging_when_the_workflow_moved_to_another_contract() -> None:
    facts = replace(MANAGED, contract="release", latest_revision=1)
    history = [run(0, contract="shop-build", contract_revision=4)]
    (found,) = detect(history, facts, T0)
    assert found.kind == "lagging"
    assert found.details["contract"] == "shop-build"
    assert found.details["latest_contract"] == "release"
    complied = [run(1, contract="release", contract_revision=1), *history]
    assert detect(complied, facts, T0 + timedelta(days=1)) == []
