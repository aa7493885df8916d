"""Project versions: prereleases until released (by a push that asks, or by an owner or
admin), listed with their runs and compliance a keyset page at a time, and refused new runs
once released when the organisation says so. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.integration.conftest import Env
from tests.integration.server import history as h
from tests.integration.server.test_blocks import user_token
from tests.pg import pg_database

from chainproof.errors import Conflict
from chainproof.server.bootstrap import create_org
from chainproof.server.db import AuditEvent
from chainproof.server.db.migrate import migrate
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services import orgs, projects, tokens, versions


def _versions(env: Env, project: str = "shop", **params: Any) -> dict[str, Any]:
    reply = env.get(f"/projects/{project}/versions", params=params)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _by_version(env: Env, project: str = "shop") -> dict[str, dict[str, Any]]:
    return {v["version"]: v for v in _versions(env, project)["items"]}


def _audit(env: Env, action: str) -> list[dict[str, Any]]:
    reply = env.get("/audit", params={"action": action})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_a_push_that_asks_releases_its_version(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "build", h.PLAIN)
    first = h.run(env, "shop", "build", "pushed", project_version="1.0.0")
    assert first["project_version"] == "1.0.0"
    (version,) = _versions(env)["items"]
    assert version["prerelease"] is True and version["released_at"] is None
    assert version["released_by"] is None and version["runs"] == 1

    started = h.init(env, "shop", "build", project_version="1.0.0")
    reply = h.send(env, started, release=True)
    assert reply.status_code == 200, reply.text
    released = reply.json()["project_version_release"]
    owner = f"{env.org['name']}-owner"
    assert released["version"] == "1.0.0" and released["prerelease"] is False
    assert released["released_by"] == owner and released["released_at"].endswith("Z")
    assert released["runs"] == 2 and released["succeeded_runs"] == 2
    assert _by_version(env)["1.0.0"] == released

    (event,) = _audit(env, "project_version.release")
    assert event["actor"] == owner and event["resource_name"] == "shop@1.0.0"
    assert event["data"] == {"project": "shop", "version": "1.0.0", "run": started["run"]["id"]}
    by_resource = env.get("/audit", params={"resource": "shop@1.0.0"}).json()["items"]
    assert {e["action"] for e in by_resource} == {
        "project_version.create",
        "project_version.release",
    }

    # Without the organisation's refusal, runs on a released version still land, and a
    # second push asking to release leaves the first release as it was.
    again = h.init(env, "shop", "build", project_version="1.0.0")
    reply = h.send(env, again, release=True)
    assert reply.status_code == 200, reply.text
    assert reply.json()["project_version_release"]["released_at"] == released["released_at"]
    assert len(_audit(env, "project_version.release")) == 1


def test_release_needs_a_version_and_a_successful_push(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "build", h.PLAIN)
    started = h.init(env, "shop", "build")
    refused = h.send(env, started, release=True)
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_input"
    assert "has no project version" in refused.json()["detail"]
    assert env.get(f"/runs/{started['run']['id']}").json()["status"] == "initialized"

    h.workflow(env, "shop", "gated", h.GATED)
    gated = h.init(env, "shop", "gated", project_version="2.0")
    blocked = h.send(env, gated, release=True)
    assert blocked.status_code == 422 and blocked.json()["code"] == "policy_violation"
    assert _by_version(env)["2.0"]["prerelease"] is True
    assert _audit(env, "project_version.release") == []


def test_owners_and_admins_release_a_version_once(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "build", h.PLAIN)
    h.run(env, "shop", "build", "failed", project_version="release/2.0")
    member = user_token(env, "member")
    denied = env.post("/projects/shop/versions/release%2F2.0/release", token=member)
    assert denied.status_code == 403
    robot = env.robot(project="shop")
    assert env.post("/projects/shop/versions/release%2F2.0/release", token=robot).status_code == 403

    reply = env.post("/projects/shop/versions/release%2F2.0/release")
    assert reply.status_code == 200, reply.text
    released = reply.json()
    assert released["version"] == "release/2.0" and not released["prerelease"]
    assert released["runs"] == 1 and released["finished_runs"] == 1
    assert released["compliance"] == 0.0

    twice = env.post("/projects/shop/versions/release%2F2.0/release")
    assert twice.status_code == 409 and "already released" in twice.json()["detail"]
    assert released["released_at"] in twice.json()["detail"]
    missing = env.post("/projects/shop/versions/9.9/release")
    assert missing.status_code == 404 and "no version '9.9'" in missing.json()["detail"]
    assert env.post("/projects/nope/versions/1/release").status_code == 404
    stranger = env.new_org()
    assert stranger.post("/projects/shop/versions/release%2F2.0/release").status_code == 404
    assert stranger.get("/projects/shop/versions").status_code == 404
    assert env.get("/projects/shop/versions", token=robot).status_code == 403
    viewer = user_token(env, "viewer")
    assert env.get("/projects/shop/versions", token=viewer).status_code == 200


def test_the_organisation_refuses_runs_on_released_versions(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "build", h.PLAIN)
    pending = h.init(env, "shop", "build", project_version="3.0")  # in progress at the release
    assert env.post("/projects/shop/versions/3.0/release").status_code == 200
    released_at = _by_version(env)["3.0"]["released_at"]
    # Off by default: a released version still takes runs.
    h.run(env, "shop", "build", "failed", project_version="3.0")

    org = env.patch("/org", {"refuse_released_versions": True})
    assert org.status_code == 200 and org.json()["refuse_released_versions"] is True
    assert env.get("/org").json()["refuse_released_versions"] is True
    (update,) = _audit(env, "org.update")
    assert update["data"]["refuse_released_versions"] is True

    body = {"workflow": "build", "project": "shop", "runner": h.GENERIC}
    refused = env.post("/runs", {**body, "project_version": "3.0"})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "version_released"
    assert "version 3.0 of project shop was released at" in problem["detail"]
    assert released_at in problem["detail"]
    assert "--allow-released-versions" in problem["hint"]
    assert problem["details"]["released_at"] == released_at

    # The run that was in progress when the version was released cannot land either; it
    # is left as it was (to expire, or be reset).
    late = h.send(env, pending)
    assert late.status_code == 409 and late.json()["code"] == "version_released"
    assert env.get(f"/runs/{pending['run']['id']}").json()["status"] == "initialized"

    # A new version is a prerelease and takes runs; turning the option off lets 3.0 in.
    assert env.post("/runs", {**body, "project_version": "3.1"}).status_code == 201
    assert env.patch("/org", {"refuse_released_versions": False}).status_code == 200
    assert env.post("/runs", {**body, "project_version": "3.0"}).status_code == 201
    member = user_token(env, "member")
    assert env.patch("/org", {"refuse_released_versions": True}, token=member).status_code == 403


def test_compliance_counts_the_versions_finished_runs(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "plain", h.PLAIN)
    h.workflow(env, "shop", "advisory", h.ADVISORY)
    h.workflow(env, "shop", "gated", h.GATED)
    v = {"project_version": "4.0"}
    assert h.run(env, "shop", "plain", "pushed", **v)["status"] == "succeeded"
    violated = h.run(env, "shop", "advisory", "pushed", **v)
    assert violated["status"] == "succeeded" and violated["policy_result"] == "violated"
    assert h.run(env, "shop", "gated", "pushed", **v)["status"] == "blocked"
    h.run(env, "shop", "plain", "expired", **v)
    h.run(env, "shop", "plain", "cancelled", **v)
    h.run(env, "shop", "plain", "initialized", **v)  # in progress: not judged yet
    h.run(env, "shop", "plain", "pushed", project_version="4.1")

    versions = _by_version(env)
    four = versions["4.0"]
    # Six runs, five finished, one of them succeeded without a violation.
    assert (four["runs"], four["finished_runs"], four["succeeded_runs"]) == (6, 5, 1)
    assert four["compliance"] == 0.2
    assert versions["4.1"]["compliance"] == 1.0
    h.init(env, "shop", "plain", project_version="5.0")
    assert _by_version(env)["5.0"]["compliance"] is None  # nothing finished yet


def test_versions_come_newest_first_in_keyset_pages(app_client: Env) -> None:
    env = app_client
    h.workflow(env, "shop", "build", h.PLAIN)
    for name in ("1", "2", "3"):
        h.init(env, "shop", "build", project_version=name)
    whole = [v["version"] for v in _versions(env)["items"]]
    assert whole == ["3", "2", "1"]
    first = _versions(env, limit=2)
    assert [v["version"] for v in first["items"]] == ["3", "2"] and first["next_cursor"]
    h.init(env, "shop", "build", project_version="4")  # arrives between the pages
    rest = _versions(env, limit=2, cursor=first["next_cursor"])
    assert [v["version"] for v in rest["items"]] == ["1"] and rest["next_cursor"] is None
    assert env.get("/projects/shop/versions", params={"cursor": "junk"}).status_code == 400


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_database()


@pytest.mark.postgres
def test_two_releases_at_once_release_once(pg_url: str) -> None:
    """PostgreSQL: of two releases of one version in concurrent transactions, the second
    waits for the first and then finds the version released (409), so there is one release
    and one audit event."""
    migrate(pg_url)
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine, secret_key="k" * 64)
    with sessions.begin() as session:
        org, token = create_org(session, "acme")
        actor = tokens.authenticate(session, token)
        project = projects.create(session, actor, "shop")
        versions.for_run(session, actor, orgs.get_org(session, org["id"]), project, "1.0")
    first = sessions()
    versions.release(first, actor, "shop", "1.0")
    first.flush()
    outcome: list[BaseException | None] = []

    def release_too() -> None:
        try:
            with sessions.begin() as session:
                versions.release(session, actor, "shop", "1.0")
            outcome.append(None)
        except Conflict as err:
            outcome.append(err)

    second = threading.Thread(target=release_too)
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first transaction's lock
    first.commit()
    second.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "project_version.release")
        )
        assert len(list(events)) == 1
    first.close()
    engine.dispose()


@pytest.mark.postgres
def test_two_runs_naming_a_new_version_at_once_share_it(pg_url: str) -> None:
    """PostgreSQL: two inits naming the same new version in concurrent transactions: the
    second waits for the first's row, then records its run on that version (no 500)."""
    migrate(pg_url)
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine, secret_key="k" * 64)
    with sessions.begin() as session:
        org, token = create_org(session, "acme")
        actor = tokens.authenticate(session, token)
        projects.create(session, actor, "shop")

    def new_version(session: Session) -> str:
        org_row = orgs.get_org(session, org["id"])
        project = projects.get(session, org["id"], "shop")
        return versions.for_run(session, actor, org_row, project, "1.0").id

    first = sessions()
    first_id = new_version(first)
    outcome: list[str | BaseException] = []

    def create_too() -> None:
        try:
            with sessions.begin() as session:
                outcome.append(new_version(session))
        except Exception as err:
            outcome.append(err)

    second = threading.Thread(target=create_too)
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting on the first transaction's new row
    first.commit()
    second.join(10)
    assert outcome == [first_id]
    first.close()
    engine.dispose()
