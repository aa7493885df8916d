"""Operating the control plane: /metrics, request ids, /readyz (docs/operations.md).

Metrics live in one registry per process, shared by every app the tests build: each test
compares a scrape before with one after its requests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from tests.cas_servers import closed_endpoint
from tests.integration.conftest import Env, new_env
from tests.integration.server.history import GATED, PLAIN, init, run, workflow
from tests.pg import PG_ADMIN_URL, pg_database

from chainproof.errors import InvalidInput
from chainproof.server.app import create_app
from chainproof.server.db.migrate import migrate
from chainproof.server.db.session import make_engine
from chainproof.server.jobs.cas_validation import revalidate_once
from chainproof.server.settings import Settings
from chainproof.server.telemetry.logs import RequestIdFilter

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
RUN_ROUTE = "/api/v1/runs/{run_id}"
PUSH_ROUTE = "/api/v1/runs/{run_id}/attestation"
LATENCY = "chainproof_http_request_duration_seconds"


def scrape(client: TestClient, **headers: str) -> tuple[str, Samples]:
    reply = client.get("/metrics", headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return reply.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_after_requests_and_pushes(app_client: Env) -> None:
    _, before = scrape(app_client.client)
    workflow(app_client, "obs", "plain", PLAIN)
    workflow(app_client, "obs", "gated", GATED)
    accepted = run(app_client, "obs", "plain", "pushed")
    blocked = run(app_client, "obs", "gated", "pushed")
    assert (accepted["status"], blocked["status"]) == ("succeeded", "blocked")
    assert app_client.get(f"/runs/{accepted['id']}").status_code == 200
    text, after = scrape(app_client.client)

    assert delta(before, after, "chainproof_pushes_total", outcome="accepted") == 1
    assert delta(before, after, "chainproof_pushes_total", outcome="blocked") == 1
    count = f"{LATENCY}_count"
    # Labelled by route template, method and status class; never by the path itself.
    assert delta(before, after, count, route=RUN_ROUTE, method="GET", status="2xx") >= 3
    assert delta(before, after, count, route=PUSH_ROUTE, method="POST", status="2xx") == 1
    assert delta(before, after, count, route=PUSH_ROUTE, method="POST", status="4xx") == 1
    cas_put = {"route": "/cas/v1/blobs/{digest}", "method": "PUT", "status": "2xx"}
    assert delta(before, after, count, **cas_put) == 2
    assert accepted["id"] not in text and blocked["id"] not in text
    # The gated contract's licence policy ran at push and found MIT.
    policy = "chainproof_policy_evaluation_seconds_count"
    assert delta(before, after, policy, outcome="violated") >= 1
    assert value(after, "chainproof_db_pool_size") >= 1
    assert ("chainproof_db_pool_checkedout", frozenset()) in after
    assert ("chainproof_cas_backends", frozenset({("status", "invalid")})) in after
    for family in ("chainproof_job_duration_seconds", "chainproof_worker_queue_depth"):
        assert f"# TYPE {family} " in text


def test_verification_failure_counted_and_problem_carries_request_id(app_client: Env) -> None:
    workflow(app_client, "obs", "plain", PLAIN)
    started = init(app_client, "obs", "plain")
    run_id = started["run"]["id"]
    _, before = scrape(app_client.client)
    bundle = _signed(app_client, started)
    envelope = bundle["dsseEnvelope"]
    envelope["payload"] = envelope["payload"][:-4] + "AAA="  # the signature no longer matches
    reply = app_client.post(
        f"/runs/{run_id}/attestation", {"bundle": bundle}, headers={"X-Request-ID": "push-42"}
    )
    _, after = scrape(app_client.client)
    assert reply.status_code == 422 and reply.json()["code"] == "verification_failed"
    assert reply.headers["X-Request-ID"] == "push-42"
    assert reply.json()["request_id"] == "push-42"
    assert delta(before, after, "chainproof_verification_failures_total", check="signature") == 1
    outcome = "verification_failed"
    assert delta(before, after, "chainproof_pushes_total", outcome=outcome) == 1


def _signed(env: Env, started: dict[str, Any]) -> dict[str, Any]:
    """What ``history.push`` sends, without sending it."""
    from tests.integration.server.test_enforcement import _statement, _upload

    import chainproof.signing.ca as ca_mod
    import chainproof.signing.signer as signer_mod

    run_id = started["run"]["id"]
    _upload(env, run_id)
    wf = started["workflow"]
    signer = signer_mod.EphemeralSigner()
    uri = ca_mod.identity_uri(env.org["name"], wf["project"], wf["name"], run_id)
    reply = env.post("/signing/certificates", {"run_id": run_id, "csr": signer.csr(uri).decode()})
    chain = [c.encode() for c in reply.json()["chain"]]
    return dict(signer.sign(_statement(env, started), chain).to_dict())


@pytest.mark.parametrize(
    ("given", "kept"),
    [("abc-123_x.y:z", True), ("has space", False), ("x" * 129, False), (None, False)],
)
def test_request_id_kept_when_well_formed_else_generated(
    app_client: Env, given: str | None, kept: bool
) -> None:
    headers = {"X-Request-ID": given} if given is not None else {}
    reply = app_client.client.get("/api/v1/nope", headers=headers)
    answered = reply.headers["X-Request-ID"]
    if kept:
        assert answered == given
    else:
        assert answered != given and len(answered) == 32 and int(answered, 16) >= 0
    assert reply.status_code == 404 and reply.json()["request_id"] == answered
    ok = app_client.client.get("/healthz", headers=headers)
    assert ok.headers["X-Request-ID"] != answered or kept  # a new id for each request


def test_metrics_token_off_and_bad_setting(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    with _client(guarded) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and "Bearer" in refused.headers["WWW-Authenticate"]
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        scrape(client, Authorization="Bearer scrape-me")
    with _client(settings.model_copy(update={"metrics": "off"})) as client:
        assert client.get("/metrics").status_code == 404
    with pytest.raises(InvalidInput, match="metrics setting"):
        create_app(settings.model_copy(update={"metrics": "maybe"}))


class _Collect(logging.Handler):
    """Records as the server's handler sees them: stamped with their request id."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_unhandled_error_answers_and_logs_its_request_id(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, start_worker=False)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom/{thing}", boom)
    caplog.set_level(logging.INFO)
    collect = _Collect()
    logging.getLogger().addHandler(collect)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            _, before = scrape(client)
            reply = client.get("/boom/1", headers={"X-Request-ID": "bug-1"})
            _, after = scrape(client)
    finally:
        logging.getLogger().removeHandler(collect)
        app.state.engine.dispose()
    # Answered by Starlette's outermost error middleware, outside ours: still the same id.
    assert reply.status_code == 500 and reply.headers["X-Request-ID"] == "bug-1"
    assert reply.json()["code"] == "service_error" and reply.json()["request_id"] == "bug-1"
    count = f"{LATENCY}_count"
    assert delta(before, after, count, route="/boom/{thing}", method="GET", status="5xx") == 1
    bug = [r for r in collect.records if getattr(r, "request_id", None) == "bug-1"]
    assert {r.name for r in bug} >= {"chainproof.access", "chainproof.server"}
    assert any(r.exc_info for r in bug if r.name == "chainproof.server")


@contextlib.contextmanager
def _client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, start_worker=False)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.engine.dispose()


# -- /readyz, on a database of its own (other tests leave invalid backends in theirs) -------
@dataclass
class Fresh:
    env: Env
    url: str
    db_dir: Path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fresh]:
    """An app over a newly migrated database, with one organisation."""
    pg = pg_database() if request.param == "postgresql" else None
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    url = next(pg) if pg is not None else f"sqlite:///{db_dir / 'chainproof.db'}"
    migrate(url)
    settings = Settings.embedded(
        tmp_path / "data",
        environ={},
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        public_url="http://testserver",
    )
    with _client(settings) as client:
        app: Any = client.app
        yield Fresh(new_env(client, settings, app.state.sessions), url, db_dir)
    if pg is not None:
        with pytest.raises(StopIteration):
            next(pg)


def _invalid_backend(env: Env, name: str = "down") -> None:
    body = {
        "name": name,
        "provider": "s3",
        "config": {"bucket": "b", "endpoint": closed_endpoint()},
        "skip_validation": True,
    }
    assert env.post("/cas-backends", body).status_code == 201
    factory = env.client.app.state.cas_factory  # type: ignore[attr-defined]
    assert set(revalidate_once(env.sessions, factory).values()) == {"invalid"}


def test_readyz_ok_then_503_naming_an_invalid_backend(fresh: Fresh) -> None:
    env = fresh.env
    ready = env.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert {name: c["status"] for name, c in checks.items()} == {
        "database": "ok",
        "cas": "ok",
        "cas_backends": "ok",
    }
    _, before = scrape(env.client)
    _invalid_backend(env)
    required = env.settings.model_copy(update={"readyz_cas_backends": "require"})
    with _client(required) as client:
        reply = client.get("/readyz")
    assert reply.status_code == 503
    body = reply.json()
    assert body["status"] == "unavailable" and body["not_ready"] == ["cas_backends"]
    found = body["checks"]["cas_backends"]
    assert found["invalid_count"] == 1
    assert [(b["org"], b["backend"]) for b in found["invalid"]] == [(env.org["name"], "down")]
    assert "endpoint" not in json.dumps(found) and closed_endpoint() not in reply.text
    _, after = scrape(env.client)
    assert delta(before, after, "chainproof_cas_backend_validations_total", status="invalid") == 1
    assert value(after, "chainproof_cas_backends", status="invalid") == 1


def test_readyz_report_mode_lists_but_stays_ready(fresh: Fresh) -> None:
    """The default: one organisation's broken backend does not make every replica unready."""
    _invalid_backend(fresh.env)
    assert fresh.env.settings.readyz_cas_backends == "report"
    reply = fresh.env.client.get("/readyz")
    assert reply.status_code == 200, reply.text
    assert reply.json()["not_ready"] == ["cas_backends"]
    assert reply.json()["checks"]["cas_backends"]["invalid_count"] == 1


def test_readyz_503_when_the_embedded_cas_is_not_writable(fresh: Fresh) -> None:
    root = fresh.env.settings.cas_path
    shutil.rmtree(root)
    root.write_text("a file where the CAS directory was\n")
    reply = fresh.env.client.get("/readyz")
    assert reply.status_code == 503
    assert reply.json()["not_ready"] == ["cas"]


def test_readyz_503_when_the_database_is_gone(fresh: Fresh) -> None:
    app: Any = fresh.env.client.app
    if fresh.url.startswith("sqlite"):
        app.state.engine.dispose()
        shutil.rmtree(fresh.db_dir)  # SQLite cannot open (nor create) a file there
    else:
        name = make_url(fresh.url).database
        admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    reply = fresh.env.client.get("/readyz")
    assert reply.status_code == 503
    body = reply.json()
    assert body["not_ready"] == ["database"] and "cas_backends" not in body["checks"]
    # The scrape still answers without the database, pool gauges and all.
    text, _ = scrape(fresh.env.client)
    assert "chainproof_db_pool_size" in text
