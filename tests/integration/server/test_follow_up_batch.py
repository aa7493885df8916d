"""Follow-ups coalesced (services/after_push.py): a batch of pushes' follow-ups issues every
run's VSA exactly as one follow-up would (signed, logged under an entry of its own,
timestamped), in statements that do not grow with the batch, reconciles each distinct
workflow's findings once, and races readers without ever issuing a VSA twice."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from tests.integration.conftest import Env
from tests.integration.server.test_push import _materials, _sign, _statement, _upload
from tests.integration.server.test_signing_ca import _push, _second_run
from tests.integration.server.test_slsa import _verify
from tests.integration.statements import recorded

from chainproof.server.db import TlogLeaf, VerificationSummary, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import after_push, findings, signing, slsa, vsa

RUNS = 10

#: Statements a batch of 10 may send beyond a batch of one. Measured: none, on SQLite and
#: PostgreSQL (18 each: the runs, the claim, the facts' two, the trust keys' fingerprint, the
#: log's four, the summaries' update, the audit events, the findings' seven with their
#: savepoints); 2 of headroom, for a batch that completes tree nodes where one did not.
HEADROOM = 2


def _pushed_runs(env: Env, count: int, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """``count`` pushed runs whose follow-ups have not run: ``(run_id, workflow_id)``."""
    later: list[tuple[Any, ...]] = []
    monkeypatch.setattr(after_push, "follow_up", lambda *args: later.append(args))
    for _ in range(count):
        init = _second_run(env)
        run_id = init["run"]["id"]
        _upload(env, run_id)
        bundle = _sign(env, init, _statement(env, init))
        body = {"bundle": bundle, "materials": _materials()}
        reply = env.post(f"/runs/{run_id}/attestation", body)
        assert reply.status_code == 200, reply.text
    monkeypatch.undo()
    return [(args[1], args[2]) for args in later]


def _ids(runs: list[tuple[str, str]]) -> list[str]:
    return [run_id for run_id, _ in runs]


def _count(env: Env, model: Any, run_id: str) -> int:
    with env.sessions() as session:
        stmt = select(func.count()).select_from(model).where(model.run_id == run_id)
        return int(session.scalar(stmt) or 0)


def _statements(env: Env, runs: list[tuple[str, str]]) -> list[str]:
    with recorded(env) as seen:
        after_push.follow_ups(env.sessions, runs)
    return seen


def _follow_ups(outcome: str) -> float:
    found = REGISTRY.get_sample_value("chainproof_push_follow_ups_total", {"outcome": outcome})
    return found or 0.0


def test_a_batch_issues_each_run_its_own_vsa(
    app_client: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _push(app_client, first=True)  # service keys, log head, caches
    runs = _pushed_runs(app_client, RUNS, monkeypatch)
    reconciled: list[list[str]] = []
    on_runs_changed = findings.on_runs_changed

    def spy(session: Any, workflow_ids: Any, now: Any = None) -> Any:
        reconciled.append(sorted(workflow_ids))
        return on_runs_changed(session, workflow_ids, now)

    monkeypatch.setattr(findings, "on_runs_changed", spy)
    done = _follow_ups("done")
    after_push.follow_ups(app_client.sessions, runs)
    assert _follow_ups("done") - done == RUNS  # one per run: the benchmark waits on it
    assert reconciled == [[runs[0][1]]]  # one workflow, reconciled once for the batch
    indexes = set()
    for run_id, _ in runs:
        assert _count(app_client, VerificationSummary, run_id) == 1
        assert _count(app_client, TlogLeaf, run_id) == 2  # its attestation's and its VSA's
        bundle = app_client.get(f"/runs/{run_id}/vsa").json()
        predicate = _verify(app_client, bundle).statement.predicate
        assert predicate["verificationResult"] == "PASSED"
        assert predicate["resourceUri"].endswith(f"/runs/{run_id}")
        timestamps = bundle["verificationMaterial"]["timestampVerificationData"]
        assert len(timestamps["rfc3161Timestamps"]) == 1
        (entry,) = bundle["verificationMaterial"]["tlogEntries"]
        indexes.add(int(entry["logIndex"]))
    assert len(indexes) == RUNS  # each VSA its own log entry


def test_a_batch_costs_statements_per_batch_not_per_run(
    app_client: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _push(app_client, first=True)
    runs = _pushed_runs(app_client, RUNS + 1, monkeypatch)
    one = _statements(app_client, runs[:1])
    many = _statements(app_client, runs[1:])
    assert len(many) <= len(one) + HEADROOM, "\n".join(many)
    with app_client.sessions() as session:
        issued = select(func.count()).select_from(VerificationSummary)
        in_batch = VerificationSummary.run_id.in_(_ids(runs))
        assert session.scalar(issued.where(in_batch, VerificationSummary.result != "")) == RUNS + 1


def test_readers_racing_a_batch_issue_one_vsa_per_run(
    app_client: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _push(app_client, first=True)
    runs = _pushed_runs(app_client, RUNS, monkeypatch)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def batch() -> None:
        start.wait()
        after_push.follow_ups(app_client.sessions, runs)

    def reader(order: list[tuple[str, str]]) -> None:
        start.wait()
        for run_id, _ in order:
            with app_client.sessions.begin() as session:
                run = session.get(WorkflowRun, run_id)
                assert run is not None and slsa.ensure_vsa(session, run) is not None

    def guarded(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as err:  # reported below, not lost in the thread
            errors.append(err)

    threads = [
        threading.Thread(target=guarded, args=(batch,)),
        threading.Thread(target=guarded, args=(reader, runs)),
        threading.Thread(target=guarded, args=(reader, runs[::-1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    for run_id, _ in runs:
        assert _count(app_client, VerificationSummary, run_id) == 1
        assert _count(app_client, TlogLeaf, run_id) == 2  # one VSA signed and logged
    with app_client.sessions() as session:  # each filled (signed), none a bare claim
        stmt = select(VerificationSummary.result, VerificationSummary.bundle)
        filled = session.execute(stmt.where(VerificationSummary.run_id.in_(_ids(runs))))
        assert sorted(result for result, bundle in filled if bundle) == ["PASSED"] * RUNS


def test_a_failed_batch_is_counted_per_run_and_repaired(
    app_client: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _push(app_client, first=True)
    runs = _pushed_runs(app_client, 3, monkeypatch)
    run_ids = _ids(runs)
    reconciled: list[list[str]] = []
    on_runs_changed = findings.on_runs_changed

    def spy(session: Any, workflow_ids: Any, now: Any = None) -> Any:
        reconciled.append(sorted(workflow_ids))
        return on_runs_changed(session, workflow_ids, now)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the verifier cannot sign")

    monkeypatch.setattr(findings, "on_runs_changed", spy)
    monkeypatch.setattr(signing, "sign_as_verifier", broken)
    failed = _follow_ups("failed")
    after_push.follow_ups(app_client.sessions, runs)
    assert _follow_ups("failed") - failed == len(runs)
    assert reconciled == [[runs[0][1]]]  # the findings still reconciled, on their own
    with app_client.sessions() as session:  # no claim left behind: the worker sees them
        assert set(run_ids) <= set(vsa.missing(session, before=utcnow(), limit=10_000))
    monkeypatch.undo()
    for run_id in run_ids:  # as the worker's vsa_repair does
        with app_client.sessions.begin() as session:
            assert vsa.repair(session, run_id) is True
    for run_id in run_ids:
        assert _count(app_client, VerificationSummary, run_id) == 1
        _verify(app_client, app_client.get(f"/runs/{run_id}/vsa").json())
