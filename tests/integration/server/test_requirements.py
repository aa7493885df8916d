"""New contract requirements over simulated weeks: diff, init notices, rollout, grace period.

Services are driven with an explicit clock (``now``); revisions are published at simulated
times through ``contracts.update(now=...)``. Succeeded runs are stored as push leaves them
(status, ``verification.policy`` and ``policy_result``), since only those decide
compliance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.integration.conftest import Env
from tests.integration.server.helpers import GENERIC, init_run

from chainproof.errors import ContractOutdated, InvalidInput, NotFound
from chainproof.server.db import WorkflowRun
from chainproof.server.services import contracts, orgs, requirements, runs
from chainproof.server.support.principal import Principal

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
V1 = """
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {name: sbom, type: SBOM_CYCLONEDX_JSON}
"""
V2 = """
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: release}
spec:
  materials:
    - {name: sbom, type: SBOM_CYCLONEDX_JSON}
    - {name: dockerfile, type: ARTIFACT}
  policies:
    attestation:
      - {ref: sbom-ntia}
"""


def owner(env: Env) -> Principal:
    return Principal(
        org_id=env.org["id"],
        org_name=env.org["name"],
        token_id=None,
        token_name="t",
        kind="user",
        role="owner",
    )


def setup(env: Env, session: Session, *workflows: tuple[str, str, str | None]) -> None:
    actor = owner(env)
    contracts.create(session, actor, "release", V1)
    contracts.revision(session, contracts.get(session, actor.org_id, "release")).created_at = T0
    for project, name, team in workflows:
        from chainproof.server.services import workflows as wf_service

        wf_service.create(session, actor, name=name, project=project, team=team, contract="release")


def run(
    env: Env,
    session: Session,
    project: str,
    workflow: str,
    at: datetime,
    *,
    violated: int = 0,
    revision: int | None = None,
) -> dict[str, Any]:
    """A run opened at ``at`` and stored as a clean (or violating) successful push."""
    answer = runs.init(
        session,
        owner(env),
        workflow=workflow,
        project=project,
        runner=GENERIC,
        contract_revision=revision,
        now=at,
    )
    row = session.get(WorkflowRun, answer["run"]["id"])
    assert row is not None
    row.status, row.finished_at = "succeeded", at
    row.verification = {"verified": True, "policy": {"violated": violated}}
    row.policy_result = "violated" if violated else "passed"  # both, as a push records them
    session.flush()
    return answer


def test_diff_between_revisions_and_bad_ranges(app_client: Env) -> None:
    with app_client.sessions.begin() as session:
        setup(app_client, session)
        actor = owner(app_client)
        contracts.update(session, actor, "release", V2, now=T0 + DAY)
        got = requirements.revision_diff(session, actor, "release", None, None)
        assert (got["from"], got["to"]) == (1, 2)
        assert [(c["section"], c["op"], c["name"]) for c in got["changes"]] == [
            ("materials", "+", "dockerfile"),
            ("policies", "+", "sbom-ntia"),
        ]
        assert requirements.revision_diff(session, actor, "release", 1, 2) == got
        with pytest.raises(InvalidInput):
            requirements.revision_diff(session, actor, "release", 2, 2)
        with pytest.raises(NotFound):
            requirements.revision_diff(session, actor, "release", 1, 3)
    reply = app_client.get("/contracts/release/diff", params={"from": 1, "to": 2})
    assert reply.status_code == 200 and reply.json()["changes"] == got["changes"]
    assert app_client.get("/contracts/release/diff", params={"from": 2}).status_code == 400


def test_init_names_what_is_new_since_the_last_successful_run(app_client: Env) -> None:
    with app_client.sessions.begin() as session:
        setup(app_client, session, ("shop", "build", "payments"))
        first = run(app_client, session, "shop", "build", T0 + DAY)
        assert first["contract"]["new_requirements"] is None
        contracts.update(session, owner(app_client), "release", V2, now=T0 + 2 * DAY)
        answer = runs.init(
            session,
            owner(app_client),
            workflow="build",
            project="shop",
            runner=GENERIC,
            now=T0 + 3 * DAY,
        )
        news = answer["contract"]["new_requirements"]
        assert answer["contract"]["revision"] == 2 and news["since_revision"] == 1
        assert [(c["section"], c["name"]) for c in news["changes"]] == [
            ("materials", "dockerfile"),
            ("policies", "sbom-ntia"),
        ]
        assert answer["contract"]["deadline"] is None  # on the newest revision already
    reply = init_run(app_client, project="shop", workflow="build")  # the API answers it too
    assert reply.status_code == 201, reply.text
    assert reply.json()["contract"]["new_requirements"]["changes"] == news["changes"]


def test_rollout_over_weeks(app_client: Env) -> None:
    with app_client.sessions.begin() as session:
        setup(
            app_client,
            session,
            ("shop", "build", "payments"),
            ("shop", "deploy", "ops"),
            ("web", "site", None),
        )
        run(app_client, session, "shop", "build", T0 + DAY)
        run(app_client, session, "shop", "deploy", T0 + DAY)
        contracts.update(session, owner(app_client), "release", V2, now=T0 + 7 * DAY)
        run(app_client, session, "shop", "deploy", T0 + 8 * DAY)  # complies with revision 2
        run(app_client, session, "shop", "build", T0 + 9 * DAY, violated=1)  # not compliant
        view = requirements.rollout(session, owner(app_client), "release")
    by_name = {w["workflow"]: w for w in view["workflows"]}
    assert view["latest_revision"] == 2 and view["grace_seconds"] is None
    assert [w["workflow"] for w in view["workflows"]] == ["site", "build", "deploy"]
    assert by_name["site"]["last_compliant_revision"] is None
    assert by_name["site"]["lagging_since"] == "2026-01-05T09:00:00Z"  # never complied
    assert by_name["build"] == {
        "project": "shop",
        "workflow": "build",
        "team": "payments",
        "last_compliant_revision": 1,
        "last_compliant_at": "2026-01-06T09:00:00Z",
        "complied_newest": False,
        "lagging_since": "2026-01-12T09:00:00Z",
    }
    assert by_name["deploy"]["complied_newest"] and by_name["deploy"]["lagging_since"] is None
    assert by_name["deploy"]["last_compliant_revision"] == 2
    reply = app_client.get("/contracts/release/rollout")
    assert reply.status_code == 200 and reply.json()["workflows"] == view["workflows"]


def test_grace_period_announces_then_refuses(app_client: Env) -> None:
    with app_client.sessions.begin() as session:
        setup(app_client, session, ("shop", "build", None))
        actor = owner(app_client)
        orgs.update(session, actor, contract_grace_seconds=int((14 * DAY).total_seconds()))
        contracts.update(session, actor, "release", V2, now=T0 + DAY)
        pinned = runs.init(
            session,
            actor,
            workflow="build",
            project="shop",
            runner=GENERIC,
            contract_revision=1,
            now=T0 + 5 * DAY,
        )
        assert pinned["contract"]["deadline"] == {"revision": 2, "at": "2026-01-20T09:00:00Z"}
        view = requirements.rollout(session, actor, "release")
        assert view["required_from"] == "2026-01-20T09:00:00Z"
        late = T0 + 16 * DAY
        with pytest.raises(ContractOutdated) as refused:
            runs.init(
                session,
                actor,
                workflow="build",
                project="shop",
                runner=GENERIC,
                contract_revision=1,
                now=late,
            )
        assert refused.value.message == (
            "contract release revision 1 is no longer accepted since 2026-01-20T09:00:00Z: "
            "revision 2 is required"
        )
        row = session.get(WorkflowRun, pinned["run"]["id"])
        assert row is not None
        with pytest.raises(ContractOutdated):
            requirements.check_run_accepted(session, row, late)
        requirements.check_run_accepted(session, row, T0 + 10 * DAY)  # still in grace
        latest = runs.init(
            session, actor, workflow="build", project="shop", runner=GENERIC, now=late
        )
        assert latest["contract"]["revision"] == 2 and latest["contract"]["deadline"] is None
        orgs.update(session, actor, contract_grace_seconds=0)  # disabled: accepted again
        requirements.check_run_accepted(session, row, late)
        assert orgs.get_org(session, actor.org_id).contract_grace_seconds is None


def test_grace_option_through_the_api(app_client: Env) -> None:
    reply = app_client.patch("/org", {"contract_grace_seconds": 3600})
    assert reply.status_code == 200 and reply.json()["contract_grace_seconds"] == 3600
    assert app_client.patch("/org", {"contract_grace_seconds": -1}).status_code == 422
    cleared = app_client.patch("/org", {"contract_grace_seconds": 0})
    assert cleared.json()["contract_grace_seconds"] is None
