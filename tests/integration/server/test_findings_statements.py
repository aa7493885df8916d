"""What a drift reconcile costs (issue 16: it follows every push): a count of statements, not a
time, and the per-process cache of contract revisions' verdicts it relies on."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.integration.conftest import Env
from tests.integration.server.test_findings import CONTRACT, GHA, _routine, _setup
from tests.integration.statements import recorded

from chainproof.core.drift import detect
from chainproof.server.db import ContractRow, Workflow
from chainproof.server.services import contracts, drift, findings

#: SAVEPOINT, the open findings, the runs with their evidence and contract, RELEASE.
MAX_STATEMENTS = 4


def _workflow(session: Session, env: Env, name: str = "build") -> Workflow:
    found = session.scalar(
        select(Workflow).where(Workflow.org_id == env.org["id"], Workflow.name == name)
    )
    assert found is not None
    return found


def test_a_reconcile_stays_within_its_statement_budget(app_client: Env) -> None:
    script = _setup(app_client)
    _routine(script, 4)
    script.succeed(kinds=("STRING",))  # regressed: the evidence of two runs is compared
    with app_client.sessions() as session:
        wf = _workflow(session, app_client)
        findings.on_runs_changed(session, [wf.id], script.now)  # the spec cache, warm
        with recorded(app_client) as seen:
            findings.on_runs_changed(session, [wf.id], script.now)
        session.commit()
    assert len(seen) <= MAX_STATEMENTS, "\n".join(seen)
    regressed = script.open()["regressed"]["details"]
    assert regressed["material_kinds"] == ["ARTIFACT"]
    assert regressed["annotations"] == ["ticket"]
    assert regressed["policies_failing"] == ["required-annotations"]


def test_the_periodic_job_reads_its_batch_at_once(app_client: Env) -> None:
    script = _setup(app_client)
    for name in ("w1", "w2", "w3"):  # implicit creation: each is unmanaged
        script.init(GHA, workflow=name)
    with app_client.sessions() as session:
        ids = [_workflow(session, app_client, name).id for name in ("w1", "w2", "w3", "build")]
        findings.on_runs_changed(session, ids, script.now)
        session.rollback()
        with recorded(app_client) as seen:
            findings.on_runs_changed(session, ids, script.now)
        session.rollback()
    # The workflows and their open findings, then a savepoint and one read per workflow.
    assert len(seen) <= 2 + 3 * len(ids), "\n".join(seen)
    assert set(script.open("w2")) == {"unmanaged"}


def test_a_contracts_revision_is_parsed_once_and_a_new_one_is_seen(
    app_client: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _setup(app_client)
    script.init(GHA, workflow="biuld")  # the empty contract of implicit creation
    parsed: list[dict[str, Any]] = []

    def spy(spec: dict[str, Any]) -> bool:
        parsed.append(spec)
        return requires_nothing(spec)

    requires_nothing = drift.requires_nothing
    monkeypatch.setattr(drift, "requires_nothing", spy)
    monkeypatch.setattr(drift, "REQUIRES_NOTHING", {})
    with app_client.sessions.begin() as session:
        wf = _workflow(session, app_client, "biuld")
        for _ in range(3):
            findings.on_runs_changed(session, [wf.id], script.now)
        contract = session.get(ContractRow, wf.contract_id)
        assert contract is not None
        name = contract.name
    assert len(parsed) == 1 and set(script.open("biuld")) == {"unmanaged"}
    with app_client.sessions.begin() as session:  # revision 2 requires evidence
        contracts.update(session, script.actor(session), name, CONTRACT)
    with app_client.sessions.begin() as session:
        wf = _workflow(session, app_client, "biuld")
        for _ in range(3):
            findings.on_runs_changed(session, [wf.id], script.now)
    assert len(parsed) == 2 and script.open("biuld") == {}


def test_a_success_past_the_window_is_not_compared(app_client: Env) -> None:
    """The statement reads the evidence of the workflow's latest two successes; the rules
    compare them only when both are in the window."""
    script = _setup(app_client)
    (full,) = _routine(script, 1)
    failed = script.fail()
    script.tick()
    poor = script.succeed(kinds=("STRING",))
    with app_client.sessions() as session:
        wf = _workflow(session, app_client)
        runs, facts = drift.read(session, wf, 2)
        assert [r.id for r in runs] == [poor, failed]
        assert not [d for d in detect(runs, facts, script.now) if d.kind == "regressed"]
        runs, facts = drift.read(session, wf, 20)
    assert [r.id for r in runs] == [poor, failed, full]
    assert runs[2].material_kinds == {"STRING", "ARTIFACT"} and runs[2].annotations == {"ticket"}
    assert runs[2].policies_passed == {"required-annotations"} and not runs[2].policies_failed
    assert runs[0].policies_failed == {"required-annotations"} and not runs[0].policies_passed
    (regressed,) = [d for d in detect(runs, facts, script.now) if d.kind == "regressed"]
    assert regressed.evidence == (poor, full)
