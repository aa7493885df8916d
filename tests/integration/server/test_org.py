"""Organisation settings: implicit creation of projects and workflows at run init."""

from __future__ import annotations

from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow


def test_owner_turns_implicit_creation_off_and_on(app_client: Env) -> None:
    org = app_client.get("/org").json()
    assert org["name"] == app_client.org["name"] and org["allow_implicit_creation"] is True
    setup_workflow(app_client)

    off = app_client.patch("/org", {"allow_implicit_creation": False})
    assert off.status_code == 200 and off.json()["allow_implicit_creation"] is False
    refused = init_run(app_client, project="ghost", workflow="wf")
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found" and "implicit creation" in refused.json()["detail"]
    assert app_client.get("/workflows/ghost/wf").status_code == 404
    assert init_run(app_client).status_code == 201  # existing workflows still attest

    on = app_client.patch("/org", {"allow_implicit_creation": True})
    assert on.json()["allow_implicit_creation"] is True
    assert init_run(app_client, project="ghost", workflow="wf").status_code == 201

    audit = [a for a in _audit_actions(app_client) if a == "org.update"]
    assert len(audit) == 2


def test_robots_cannot_change_settings_and_unknown_fields_are_refused(app_client: Env) -> None:
    robot = app_client.robot()
    assert (
        app_client.patch("/org", {"allow_implicit_creation": False}, token=robot).status_code == 403
    )
    assert app_client.patch("/org", {"colour": "blue"}).status_code == 422
    assert app_client.get("/org").json()["allow_implicit_creation"] is True


def _audit_actions(env: Env) -> list[str]:
    from sqlalchemy import select

    from chainproof.server.db import AuditEvent

    with env.sessions() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.org_id == env.org["id"]))
        return [r.action for r in rows]
