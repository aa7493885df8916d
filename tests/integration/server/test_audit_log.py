"""``GET /api/v1/audit``: owners and admins read the audit log, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow
from tests.integration.server.test_blocks import user_token

from chainproof.errors import InvalidInput
from chainproof.server.db import AuditEvent
from chainproof.server.services.audit import parse_since


def _actions(env: Env, **params: object) -> list[str]:
    reply = env.get("/audit", params=params)
    assert reply.status_code == 200, reply.text
    return [e["action"] for e in reply.json()["items"]]


def test_newest_first_with_actor_and_resource_names(app_client: Env) -> None:
    setup_workflow(app_client)
    robot = app_client.robot("ci-robot")
    run_id = init_run(app_client, token=robot).json()["run"]["id"]
    events = app_client.get("/audit").json()["items"]
    assert events[0]["action"] == "run.init" and events[0]["resource"] == run_id
    assert events[0]["actor"] == "ci-robot" and events[0]["actor_kind"] == "robot"
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    created = next(e for e in events if e["action"] == "workflow.create")
    assert created["resource_name"] == "p/build"
    contract = next(e for e in events if e["action"] == "contract.create")
    assert contract["resource_name"] == "contract p-c"
    assert events[-1]["action"] == "org.create" and events[-1]["actor"] == "system"


def test_filters(app_client: Env) -> None:
    setup_workflow(app_client)
    robot = app_client.robot("ci-robot")
    init_run(app_client, token=robot)
    app_client.post("/workflows/p/build/block", {"reason": "x"})
    assert _actions(app_client, actor="ci-robot") == ["run.init"]
    everything = app_client.get("/audit").json()["items"]
    system = [e["action"] for e in everything if e["actor"] == "system"]
    assert "org.create" in system and "run.init" not in system
    assert _actions(app_client, actor="system") == system
    assert _actions(app_client, resource="p/build") == ["workflow.block", "workflow.create"]
    assert _actions(app_client, resource="p") == ["project.create"]
    assert _actions(app_client, action="workflow") == ["workflow.block", "workflow.create"]
    assert _actions(app_client, action="workflow.block") == ["workflow.block"]
    assert _actions(app_client, action="work") == []
    assert _actions(app_client, actor="nobody") == []
    assert _actions(app_client, actor="ci-robot", action="workflow") == []


def test_since_duration_and_date(app_client: Env) -> None:
    setup_workflow(app_client)
    old = datetime.now(UTC) - timedelta(days=10)
    with app_client.sessions.begin() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.org_id == app_client.org["id"], AuditEvent.action == "org.create")
            .values(at=old)
        )
    assert "org.create" not in _actions(app_client, since="7d")
    assert "project.create" in _actions(app_client, since="7d")
    assert "org.create" in _actions(app_client, since="2w")
    assert "org.create" in _actions(app_client, since=(old - timedelta(days=1)).date().isoformat())
    bad = app_client.get("/audit", params={"since": "last tuesday"})
    assert bad.status_code == 400 and "7d" in bad.json()["hint"]


def test_parse_since_takes_the_clock() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2w", now) == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_since("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_since("2026-12-01T10:00:00Z", now) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_since("7 days", now)


def test_pages_follow_the_cursor(app_client: Env) -> None:
    for i in range(5):
        app_client.post("/projects", {"name": f"p{i}"})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"action": "project", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = app_client.get("/audit", params=params).json()
        seen += [e["data"]["name"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"p{i}" for i in reversed(range(5))]


@pytest.mark.parametrize("role", ["robot", "member", "viewer"])
def test_only_owners_and_admins_read_it(app_client: Env, role: str) -> None:
    token = app_client.robot() if role == "robot" else user_token(app_client, role)
    reply = app_client.get("/audit", token=token)
    assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    assert app_client.get("/audit", token=user_token(app_client, "admin")).status_code == 200


def test_other_organisations_events_stay_hidden(app_client: Env) -> None:
    other = app_client.new_org()
    other.post("/projects", {"name": "secret"})
    assert "project.create" not in _actions(app_client)
    assert _actions(app_client, resource="secret") == []
