"""Discover by digest and component search over the index the worker's job fills
(docs/discover.md). SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.integration.conftest import Env
from tests.integration.server.discover_steps import cdx, image_digest, index, push, setup

from chainproof.server.db import Attestation, Component, IndexedRun, Referrer, WorkflowRun
from chainproof.server.services import discover, discover_index

MATERIALS = Path(__file__).parents[2] / "assets" / "materials"
LOG4J_OLD = ("maven/org.apache.logging.log4j/log4j-core", "log4j-core", "2.14.1", "Apache-2.0")
LOG4J_NEW = ("maven/org.apache.logging.log4j/log4j-core", "log4j-core", "2.17.1", "Apache-2.0")
LOG4J_BETA = ("maven/org.apache.logging.log4j/log4j-core", "log4j-core", "2.0-beta9", "Apache-2.0")
REQUESTS = ("pypi/requests", "requests", "2.31.0", "Apache-2.0")
READLINE = ("generic/readline", "readline", "8.2", "GPL-3.0-only")


def _counts(env: Env) -> tuple[int, int, int]:
    """This organisation's index rows (the test database is shared with other tests)."""
    org_id = env.org["id"]
    own_runs = select(WorkflowRun.id).where(WorkflowRun.org_id == org_id)
    with env.sessions() as session:
        return (
            session.scalar(select(func.count()).where(Referrer.org_id == org_id)) or 0,
            session.scalar(select(func.count()).where(Component.org_id == org_id)) or 0,
            session.scalar(select(func.count()).where(IndexedRun.run_id.in_(own_runs))) or 0,
        )


def _search(env: Env, **params: object) -> list[dict[str, object]]:
    reply = env.get("/components", params=params)
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_the_index_job_is_idempotent_and_picks_up_only_new_pushes(app_client: Env) -> None:
    while index(app_client):  # other tests' pushes in the shared database, out of the way
        pass
    setup(app_client)
    push(app_client, cdx(LOG4J_OLD, REQUESTS), image_digest("a"))
    assert index(app_client) == 1
    first = _counts(app_client)
    # attestation + image subject + two materials; two components; one run marked
    assert first == (4, 2, 1)
    assert index(app_client) == 0
    with app_client.sessions.begin() as session:  # as if the marks were lost: rows again
        own_runs = select(WorkflowRun.id).where(WorkflowRun.org_id == app_client.org["id"])
        session.query(IndexedRun).filter(IndexedRun.run_id.in_(own_runs)).delete(
            synchronize_session=False
        )
    assert index(app_client) == 1
    assert _counts(app_client) == first  # nothing indexed twice
    push(app_client, cdx(LOG4J_NEW), image_digest("b"))
    assert index(app_client) == 1
    assert _counts(app_client) == (8, 3, 2)


def test_discover_an_image_to_its_run_and_sbom_then_depth_two(app_client: Env) -> None:
    setup(app_client, workflows=("build", "scan"))
    base = cdx(LOG4J_OLD)
    sbom_digest = "sha256:" + hashlib.sha256(base).hexdigest()
    image = image_digest("api")
    run_a = push(app_client, base, image, workflow="build", tag="2.0")
    run_b = push(app_client, base, image_digest("other"), workflow="scan")  # same SBOM
    index(app_client)

    reply = app_client.get(f"/discover/{image}")
    assert reply.status_code == 200, reply.text
    tree = reply.json()
    assert tree["digest"] == image and tree["kind"] == "CONTAINER_IMAGE"
    assert [r["id"] for r in tree["runs"]] == [run_a]
    run = tree["runs"][0]
    assert sorted(run["roles"]) == ["material", "subject"]
    assert (run["project"], run["workflow"], run["status"]) == ("shop", "build", "succeeded")
    refs = {(r["role"], r["digest"]): r for r in run["references"]}
    assert refs[("material", sbom_digest)]["kind"] == "SBOM_CYCLONEDX_JSON"
    assert refs[("material", image)]["tag"] == "2.0"
    assert "runs" not in refs[("material", sbom_digest)]  # depth 1: not followed

    deep = app_client.get(f"/discover/{image}", params={"depth": 2}).json()
    sbom_node = next(r for r in deep["runs"][0]["references"] if r["digest"] == sbom_digest)
    assert [r["id"] for r in sbom_node["runs"]] == [run_b]  # the other run using that SBOM
    assert {r["digest"] for r in sbom_node["runs"][0]["references"]} >= {image_digest("other")}


def test_a_digest_many_runs_name_shows_the_newest_and_says_it_was_cut(
    app_client: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discover, "MAX_RUNS", 2)
    setup(app_client, workflows=("build", "scan"))
    base = image_digest("base-image")
    sboms = [cdx((*LOG4J_OLD[:2], f"2.{n}.0", None)) for n in range(3)]
    runs = [push(app_client, sbom, base) for sbom in sboms]
    lone = push(app_client, sboms[2], image_digest("lone"), workflow="scan")  # same SBOM
    index(app_client)

    tree = app_client.get(f"/discover/{base}").json()
    assert [r["id"] for r in tree["runs"]] == [runs[2], runs[1]]  # newest first
    assert tree["truncated"] is True
    assert app_client.get(f"/discover/{image_digest('lone')}").json().get("truncated") is None
    deep = app_client.get(f"/discover/{base}", params={"depth": 2}).json()
    named = {r["digest"]: r for run in deep["runs"] for r in run["references"]}
    newest_sbom = named["sha256:" + hashlib.sha256(sboms[2]).hexdigest()]
    assert [r["id"] for r in newest_sbom["runs"]] == [lone]
    assert "truncated" not in newest_sbom


def test_a_digest_only_another_organisation_has_is_not_found(app_client: Env) -> None:
    setup(app_client)
    image = image_digest("secret")
    push(app_client, cdx(LOG4J_OLD), image)
    index(app_client)
    other = app_client.new_org()
    reply = other.get(f"/discover/{image}")
    assert reply.status_code == 404
    assert reply.json()["code"] == "not_found"
    assert app_client.get(f"/discover/{image_digest('never')}").status_code == 404
    assert _search(other, purl=f"pkg:{LOG4J_OLD[0]}@2.14.1") == []
    assert app_client.get("/discover/not-a-digest").status_code == 400


def test_component_search_by_purl_name_range_and_license(app_client: Env) -> None:
    setup(app_client, workflows=("build", "batch"))
    run_old = push(app_client, cdx(LOG4J_OLD, READLINE), image_digest("1"), version="1.0")
    push(app_client, cdx(LOG4J_NEW), image_digest("2"), workflow="batch")
    push(app_client, cdx(LOG4J_BETA, REQUESTS), image_digest("3"), workflow="batch")
    index(app_client)

    found = _search(app_client, purl="pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
    assert [(f["run"]["id"], f["version"]) for f in found] == [(run_old, "2.14.1")]
    hit = found[0]
    assert (hit["project"], hit["workflow"], hit["project_version"]) == ("shop", "build", "1.0")
    assert hit["images"][0]["digest"] == image_digest("1")
    assert hit["licenses"] == ["Apache-2.0"]
    every = _search(app_client, purl="pkg:maven/org.apache.logging.log4j/log4j-core")
    assert sorted(f["version"] for f in every) == ["2.0-beta9", "2.14.1", "2.17.1"]
    # Maven ordering: 2.0-beta9 precedes 2.0, so it is outside >=2.0
    ranged = _search(app_client, name="log4j-core", version=">=2.0,<2.17.1")
    assert [f["version"] for f in ranged] == ["2.14.1"]
    pep440 = _search(app_client, name="requests", version=">=2.9,<3")
    assert [f["version"] for f in pep440] == ["2.31.0"]
    gpl = _search(app_client, license="gpl-3.0-only")
    assert [f["name"] for f in gpl] == ["readline"]
    assert app_client.get("/components").status_code == 400
    assert app_client.get("/components", params={"name": "x", "version": ">>1"}).status_code == 400


def test_latest_restricts_to_each_workflows_latest_successful_run(app_client: Env) -> None:
    setup(app_client)
    push(app_client, cdx(LOG4J_OLD), image_digest("old"))
    newest = push(app_client, cdx(LOG4J_NEW), image_digest("new"))
    index(app_client)
    purl = "pkg:maven/org.apache.logging.log4j/log4j-core"
    assert len(_search(app_client, purl=purl)) == 2  # what ever shipped
    now = _search(app_client, purl=purl, latest="true")  # what ships now
    assert [(f["run"]["id"], f["version"]) for f in now] == [(newest, "2.17.1")]
    assert _search(app_client, purl=purl + "@2.14.1", latest="true") == []


def test_component_pages_neither_repeat_nor_skip(app_client: Env) -> None:
    setup(app_client)
    pushed = [push(app_client, cdx(LOG4J_OLD, REQUESTS), image_digest(str(n))) for n in range(5)]
    index(app_client)
    for params in ({"name": "log4j-core"}, {"name": "log4j-core", "version": ">=2"}):
        seen: list[str] = []
        cursor = None
        while True:
            page = app_client.get(
                "/components",
                params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})},
            ).json()
            assert len(page["items"]) <= 2
            seen += [item["run"]["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == list(reversed(pushed))


def test_robots_may_not_search(app_client: Env) -> None:
    setup(app_client)
    robot = app_client.robot(project="shop", workflow="build")
    assert app_client.get("/components", token=robot, params={"name": "x"}).status_code == 403
    assert app_client.get(f"/discover/{image_digest('x')}", token=robot).status_code == 403


def test_a_backlog_is_worked_off_over_short_passes(app_client: Env, monkeypatch: Any) -> None:
    setup(app_client)
    for n in range(3):
        push(app_client, cdx(REQUESTS), image_digest(f"backlog{n}"))
    monkeypatch.setattr(discover_index, "BATCH", 1)
    monkeypatch.setattr(discover_index, "PASS_BATCHES", 2)
    assert [index(app_client), index(app_client), index(app_client)] == [2, 1, 0]


def test_the_watermark_looks_back_for_late_commits_only_so_far(app_client: Env) -> None:
    setup(app_client)
    push(app_client, cdx(REQUESTS), image_digest("first"))
    index(app_client)
    late = push(app_client, cdx(REQUESTS), image_digest("late"))
    lost = push(app_client, cdx(REQUESTS), image_digest("lost"))
    with app_client.sessions.begin() as session:
        mark = session.scalar(select(func.max(IndexedRun.attested_at)))
        assert mark is not None
        for run_id, back in ((late, timedelta(minutes=5)), (lost, timedelta(minutes=30))):
            row = session.scalars(select(Attestation).where(Attestation.run_id == run_id)).one()
            row.created_at = mark - back  # as if its transaction had committed that late
    assert index(app_client) == 1
    with app_client.sessions() as session:
        indexed = set(session.scalars(select(IndexedRun.run_id)))
    assert late in indexed and lost not in indexed


@pytest.mark.parametrize(
    ("kind", "asset", "purl"),
    [
        ("SBOM_CYCLONEDX_XML", "sboms/cyclonedx-py-1.5.xml", "pkg:pypi/idna@3.20"),
        ("SBOM_SPDX_JSON", "spdx-2.3.json", "pkg:npm/express@4.21.1"),
    ],
)
def test_cyclonedx_xml_and_spdx_sboms_are_indexed_too(
    app_client: Env, kind: str, asset: str, purl: str
) -> None:
    setup(app_client, sbom_kind=kind)
    data = (MATERIALS / asset).read_bytes()
    run_id = push(app_client, data, image_digest(kind), sbom_kind=kind)
    index(app_client)
    found = _search(app_client, purl=purl)
    assert [(f["run"]["id"], f["sbom_digest"]) for f in found] == [
        (run_id, "sha256:" + hashlib.sha256(data).hexdigest())
    ]
