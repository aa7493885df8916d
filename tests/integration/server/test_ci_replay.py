"""An exchanged OIDC ID token is not exchanged again (issue 17), except for the run it
started (a later step of one GitLab job: docs/ci-identity.md, "Replays"); expired exchanged
tokens and ID-token records are deleted by the expiry job. SQLite and PostgreSQL; the issuer
is tests/oidc_provider.py on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run
from tests.integration.server.test_ci_identity import _exchange, _register
from tests.oidc_provider import OidcProvider, github_claims

from chainproof.server.db import ApiToken, CiTokenUse
from chainproof.server.jobs.expiry import ci_cleanup_once
from chainproof.server.services.ci_replay import TOKEN_GRACE, exchanged


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with OidcProvider() as provider:
        yield provider


def _again(env: Env, id_token: str, run_id: str) -> Any:
    body = {"org": env.org["name"], "id_token": id_token, "run_id": run_id}
    return env.client.post("/api/v1/ci-identities/exchange", json=body)


@pytest.mark.parametrize("jti", [True, False], ids=["jti", "no-jti"])
def test_an_id_token_is_exchanged_once(app_client: Env, idp: OidcProvider, jti: bool) -> None:
    _register(app_client, idp)
    id_token = idp.mint(github_claims("cyberdyne/skynet"), jti=jti)
    assert _exchange(app_client, id_token).status_code == 200
    replay = _exchange(app_client, id_token)
    assert replay.status_code == 401, replay.text
    assert replay.json()["detail"] == "this ID token was already exchanged"
    assert "--attestation-id" in replay.json()["hint"]
    # Another token of the same job's claims is another token.
    assert _exchange(app_client, idp.mint(github_claims("cyberdyne/skynet"))).status_code == 200


def test_a_later_step_of_the_job_gets_a_token_bound_to_the_run_its_id_token_started(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    id_token = idp.mint(github_claims("cyberdyne/skynet"))
    first = _exchange(app_client, id_token).json()
    assert first["run_id"] is None
    run = init_run(app_client, token=first["token"], project="skynet", workflow="release")
    run_id = run.json()["run"]["id"]
    other = init_run(app_client, token=first["token"], project="skynet", workflow="release")
    other_id = other.json()["run"]["id"]  # init --replace: the job moved on to this run

    stale = _again(app_client, id_token, run_id)
    assert stale.status_code == 401, stale.text
    assert f"not for run {run_id}" in stale.json()["detail"]
    again = _again(app_client, id_token, other_id)
    assert again.status_code == 200, again.text
    answer = again.json()
    assert (answer["run_id"], answer["workflow"]) == (other_id, "release")
    assert answer["ci_identity"]["claims"]["repository"] == "cyberdyne/skynet"
    bound = answer["token"]
    assert _again(app_client, id_token, other_id).status_code == 200  # idempotent

    # Bound: that run only. It reads and finishes it, and starts, reads or lists no other.
    assert app_client.get(f"/runs/{other_id}", token=bound).status_code == 200
    assert app_client.get(f"/runs/{run_id}", token=bound).status_code == 404
    listed = app_client.get("/runs", token=bound).json()["items"]
    assert [r["id"] for r in listed] == [other_id]
    new = init_run(app_client, token=bound, project="skynet", workflow="release")
    assert new.status_code == 403, new.text
    assert "starts no other run" in new.json()["detail"]
    assert app_client.post(f"/runs/{run_id}/reset", {"trigger": "failure"}, token=bound)
    reset = app_client.post(f"/runs/{other_id}/reset", {"trigger": "failure"}, token=bound)
    assert reset.status_code == 200, reset.text
    described = app_client.get(f"/runs/{other_id}").json()
    assert described["status"] == "failed"
    assert described["ci_identity"]["name"] == "skynet-release"


def test_a_replay_for_a_run_the_token_never_started_is_refused(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    id_token = idp.mint(github_claims("cyberdyne/skynet"))
    assert _exchange(app_client, id_token).status_code == 200  # started no run
    owners = init_run(app_client, project="skynet", workflow="release").json()["run"]["id"]
    refused = _again(app_client, id_token, owners)
    assert refused.status_code == 401, refused.text
    # A fresh token that names a run is a first exchange: an ordinary scoped token.
    fresh = _again(app_client, idp.mint(github_claims("cyberdyne/skynet")), owners)
    assert fresh.status_code == 200 and fresh.json()["run_id"] is None


def _count(env: Env, model: Any, *where: Any) -> int:
    """Rows of this test's organisation (the database is shared with other tests)."""
    stmt = select(func.count()).select_from(model).where(model.org_id == env.org["id"], *where)
    with env.sessions.begin() as session:
        return int(session.scalar(stmt) or 0)


def test_the_expiry_job_deletes_expired_ci_tokens_and_id_token_records(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    answer = _exchange(app_client, idp.mint(github_claims("cyberdyne/skynet"))).json()
    run = init_run(app_client, token=answer["token"], project="skynet", workflow="release")
    assert run.status_code == 201, run.text
    robot = app_client.robot("kept-robot")
    assert app_client.post("/tokens", {"name": "short", "expires_in_seconds": 1})
    expires = datetime.fromisoformat(answer["expires_at"])
    ci_tokens = (exchanged(),)

    ci_cleanup_once(app_client.sessions, expires - timedelta(seconds=1))
    assert _count(app_client, ApiToken, *ci_tokens) == 1
    assert _count(app_client, CiTokenUse) == 0  # the 5-minute ID token expired first
    assert ci_cleanup_once(app_client.sessions, expires + TOKEN_GRACE) >= 1
    assert _count(app_client, ApiToken, *ci_tokens) == 0
    # Other tokens stay, expired or not; the run and the audit trail still name the job.
    assert app_client.get("/whoami", token=robot).status_code == 200
    assert _count(app_client, ApiToken, ApiToken.name == "short") == 1
    described = app_client.get(f"/runs/{run.json()['run']['id']}").json()
    assert described["ci_identity"]["name"] == "skynet-release"
    events = app_client.get("/audit").json()["items"]
    started = next(e for e in events if e["action"] == "run.init")
    assert (started["actor"], started["actor_kind"]) == ("ci-identity skynet-release", "robot")


def test_id_token_records_live_until_the_id_token_expires(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    assert _exchange(app_client, idp.mint(github_claims("cyberdyne/skynet"))).status_code == 200
    with app_client.sessions.begin() as session:
        until = session.scalar(
            select(CiTokenUse.expires_at).where(CiTokenUse.org_id == app_client.org["id"])
        )
    assert until is not None
    ci_cleanup_once(app_client.sessions, until - timedelta(seconds=1))
    assert _count(app_client, CiTokenUse) == 1
    ci_cleanup_once(app_client.sessions, until)
    assert _count(app_client, CiTokenUse) == 0


def test_two_exchanges_of_one_id_token_at_once_get_one_token(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    id_token = idp.mint(github_claims("cyberdyne/skynet"))
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def exchange() -> None:
        barrier.wait(timeout=10)
        answers.append(_exchange(app_client, id_token).status_code)

    threads = [threading.Thread(target=exchange) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [200, 401]
    assert _count(app_client, ApiToken, exchanged()) == 1
