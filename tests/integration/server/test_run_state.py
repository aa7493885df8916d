"""Remote crafting state: encrypted at rest, versioned, compare-and-set on every write."""

from __future__ import annotations

import threading

from sqlalchemy import select
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow

from chainproof.server.db import RunState


def _run(env: Env) -> str:
    setup_workflow(env)
    reply = init_run(env)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["run"]["id"])


def _put(env: Env, run_id: str, state: dict[str, object], base: str | None) -> object:
    return env.client.put(
        f"/api/v1/runs/{run_id}/state",
        json={"state": state, "base_digest": base},
        headers=env.headers(),
    )


def test_state_round_trip_and_compare_and_set(app_client: Env) -> None:
    run_id = _run(app_client)
    assert app_client.get(f"/runs/{run_id}/state").status_code == 404

    first = _put(app_client, run_id, {"materials": {}, "secret": "s3cr3t-value"}, None)
    assert first.status_code == 200, first.text  # type: ignore[attr-defined]
    v1 = first.json()["digest"]  # type: ignore[attr-defined]
    got = app_client.get(f"/runs/{run_id}/state").json()
    assert got == {"state": {"materials": {}, "secret": "s3cr3t-value"}, "digest": v1}

    # Encrypted at rest: the plaintext is nowhere in the stored row.
    with app_client.sessions() as session:
        row = session.scalar(select(RunState).where(RunState.run_id == run_id))
        assert row is not None and b"s3cr3t-value" not in row.ciphertext

    second = _put(app_client, run_id, {"materials": {"a": 1}}, v1)
    assert second.status_code == 200  # type: ignore[attr-defined]
    stale = _put(app_client, run_id, {"materials": {"b": 1}}, v1)
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"  # type: ignore[attr-defined]
    again = _put(app_client, run_id, {"x": 1}, None)
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert app_client.get(f"/runs/{run_id}/state").json()["state"] == {"materials": {"a": 1}}


def test_concurrent_writers_on_one_version_exactly_one_wins(app_client: Env) -> None:
    run_id = _run(app_client)
    base = _put(app_client, run_id, {"n": 0}, None).json()["digest"]  # type: ignore[attr-defined]
    codes: list[int] = []

    def write(i: int) -> None:
        codes.append(_put(app_client, run_id, {"n": i}, base).status_code)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=write, args=(i,)) for i in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [409] * 5


def test_finished_runs_and_other_orgs_cannot_touch_state(app_client: Env) -> None:
    run_id = _run(app_client)
    v1 = _put(app_client, run_id, {"n": 1}, None).json()["digest"]  # type: ignore[attr-defined]
    other = app_client.new_org()
    assert other.get(f"/runs/{run_id}/state").status_code == 404
    assert app_client.post(f"/runs/{run_id}/reset", {"trigger": "cancellation"}).status_code == 200
    assert _put(app_client, run_id, {"n": 2}, v1).status_code == 409  # type: ignore[attr-defined]
