"""Concurrent first use: many CI jobs start runs at once on a project (and workflows, and a
project version) that do not exist yet, against a real server on SQLite and PostgreSQL.

Every one of them must start its run: the implicit creation is insert-or-get, so the jobs that
lose the race for the insert use the winner's row instead of answering 409 or 500.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import Server, _base_env, init_server, run_server
from tests.pg import pg_database

JOBS = 16
ROUNDS = 5
WORKFLOWS = 4


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def any_db_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on SQLite (its data dir) or on a throw-away PostgreSQL database."""
    tmp = tmp_path_factory.mktemp(request.param)
    with contextlib.ExitStack() as stack:
        env = _base_env(tmp)
        if request.param == "postgresql":
            env["CHAINPROOF_DATABASE_URL"] = stack.enter_context(
                contextlib.contextmanager(pg_database)()
            )
        token = str(init_server(tmp / "data", env)["token"])
        yield stack.enter_context(
            contextlib.contextmanager(run_server)(tmp / "data", env, token, tmp / "server.log")
        )


def _init(server: Server, barrier: Barrier, project: str, job: int) -> httpx.Response:
    body = {
        "project": project,
        "workflow": f"wf-{job % WORKFLOWS}",
        "project_version": "v1",
        "runner": {"type": "GENERIC"},
    }
    with httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=60,
    ) as client:
        barrier.wait()
        return client.post("/runs", json=body)


def _get(server: Server, path: str) -> Any:
    answer = httpx.get(
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()


def test_concurrent_inits_on_a_new_project_all_start_a_run(any_db_server: Server) -> None:
    for round_ in range(ROUNDS):
        project = f"race-{round_}"
        barrier = Barrier(JOBS)
        with ThreadPoolExecutor(JOBS) as pool:
            jobs = [(any_db_server, barrier, project, job) for job in range(JOBS)]
            answers = list(pool.map(lambda args: _init(*args), jobs))
        failed = [(a.status_code, a.text) for a in answers if a.status_code != 201]
        assert failed == [], failed
        projects = [p for p in _get(any_db_server, "/projects?limit=500")["items"]]
        assert [p["name"] for p in projects].count(project) == 1
        workflows = _get(any_db_server, f"/workflows?project={project}&limit=500")["items"]
        assert sorted(w["name"] for w in workflows) == [f"wf-{i}" for i in range(WORKFLOWS)]
        runs = _get(any_db_server, f"/runs?project={project}&limit=500")["items"]
        assert len(runs) == JOBS
        assert {r["id"] for r in runs} == {a.json()["run"]["id"] for a in answers}
