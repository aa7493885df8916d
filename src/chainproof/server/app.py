"""The control plane ASGI application factory (embedded profile: API + CAS + worker)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, FastAPI

from chainproof.errors import ServiceError
from chainproof.server import web
from chainproof.server.api import (
    audit,
    bundles,
    cas,
    cas_backends,
    ci_identity,
    contracts,
    findings,
    identity,
    imports,
    integrations,
    orgs,
    overview,
    people,
    policies,
    projects,
    runs,
    signin,
    signing,
    tlog,
    tokens,
    workflow_lifecycle,
)
from chainproof.server.api import discover as discover_api
from chainproof.server.api import workflows as workflows_api
from chainproof.server.api.limits import BodyLimit
from chainproof.server.api.problems import ERROR_RESPONSES
from chainproof.server.api.problems import install as install_problems
from chainproof.server.cas_service import build_cas
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.jobs.cas_validation import cas_validation_loop
from chainproof.server.jobs.delivery import delivery_loop
from chainproof.server.jobs.discover import discover_loop
from chainproof.server.jobs.expiry import expiry_loop
from chainproof.server.jobs.findings import findings_loop
from chainproof.server.jobs.vsa import vsa_loop
from chainproof.server.services import signing as signing_services
from chainproof.server.services.cas_endpoints import EndpointPolicy
from chainproof.server.services.delivery import RetryPolicy
from chainproof.server.services.drift import SETTINGS_KEY as DRIFT_SETTINGS_KEY
from chainproof.server.services.integrations import HOSTS_KEY, HOSTS_SETTING
from chainproof.server.services.policy_input import Limits
from chainproof.server.services.slsa import SERVER_URL_KEY
from chainproof.server.services.trust_cache import CACHE_INFO, TrustCache
from chainproof.server.settings import Settings
from chainproof.server.support.oidc import JwksCache
from chainproof.server.telemetry import metrics
from chainproof.server.telemetry.wiring import check_settings, instrument

log = logging.getLogger("chainproof.server")


def retry_policy(settings: Settings) -> RetryPolicy:
    """How integration deliveries are timed out, retried and leased (``delivery_*``)."""
    return RetryPolicy(
        timeout=settings.delivery_timeout_seconds,
        max_attempts=settings.delivery_max_attempts,
        backoff=settings.delivery_backoff_seconds,
        backoff_max=settings.delivery_backoff_max_seconds,
        lease=settings.delivery_lease_seconds,
    )


def create_app(
    settings: Settings, *, start_worker: bool = True, shared_metrics: Path | None = None
) -> FastAPI:
    """Build the app: engine, routers, CAS at ``/cas/v1``, health, readiness and metrics,
    in-process worker jobs (run expiry, drift findings, CAS backend revalidation, VSA repair,
    the discover index, integration deliveries).
    ``shared_metrics``: the metrics directory of ``server start --workers N``."""
    secret = settings.secret_key.get_secret_value()
    if not secret:
        raise ServiceError(
            "no secret key configured",
            hint="run `chainproof server init` or set CHAINPROOF_SECRET_KEY",
        )
    check_settings(settings)
    engine = make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    if settings.count_sql:
        metrics.count_statements(engine)  # benchmarks/bench_ingest.py: statements per push
    sessions = make_sessionmaker(engine, secret_key=secret)
    with sessions.begin() as session:
        # Installs from before CA keys were sealed: seal them before serving anything.
        sealed_now = signing_services.seal_clear_ca_keys(session)
    if sealed_now:
        log.info("sealed %d signing CA key(s) stored in clear", sealed_now)
    # The services that sign as the control plane (VSA, provenance) name it by its URL.
    sessions.configure(info={**sessions.kw.get("info", {}), SERVER_URL_KEY: settings.base_url})
    sessions.configure(info={**sessions.kw.get("info", {}), DRIFT_SETTINGS_KEY: settings.drift})
    # Trusted material (keys, CA, root) cached per app, checked per transaction.
    sessions.configure(info={**sessions.kw.get("info", {}), CACHE_INFO: TrustCache()})
    # Where integrations may connect (services/integrations.py); a malformed list stops start.
    hosts = EndpointPolicy.parse(settings.integration_allowed_hosts, HOSTS_SETTING)
    sessions.configure(info={**sessions.kw.get("info", {}), HOSTS_KEY: hosts})
    cas_parts = build_cas(settings, sessions)
    backend = cas_parts.embedded
    policy_limits = Limits(
        workers=settings.policy_workers,
        timeout=settings.policy_timeout_seconds,
        memory_mb=settings.policy_memory_mb,
        max_input_bytes=settings.policy_max_input_bytes,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = []
        if start_worker and settings.expiry_check_seconds > 0:
            every = settings.expiry_check_seconds
            tasks.append(asyncio.create_task(expiry_loop(sessions, every, stop)))
        if start_worker and settings.findings_check_seconds > 0:
            every = settings.findings_check_seconds
            tasks.append(asyncio.create_task(findings_loop(sessions, every, stop)))
        if start_worker and settings.vsa_repair_seconds > 0:
            every = settings.vsa_repair_seconds
            tasks.append(asyncio.create_task(vsa_loop(sessions, every, stop)))
        if start_worker and settings.delivery_poll_seconds > 0:
            every, workers = settings.delivery_poll_seconds, settings.delivery_concurrency
            policy = retry_policy(settings)
            loop = delivery_loop(sessions, policy, every, workers, stop, cas_parts.source)
            tasks.append(asyncio.create_task(loop))
        if start_worker and settings.cas_validation_seconds > 0:
            every = settings.cas_validation_seconds
            loop = cas_validation_loop(sessions, cas_parts.factory, every, stop)
            tasks.append(asyncio.create_task(loop))
        if start_worker and settings.discover_index_seconds > 0:
            every = settings.discover_index_seconds
            loop = discover_loop(sessions, cas_parts.source, every, stop)
            tasks.append(asyncio.create_task(loop))
        try:
            yield
        finally:
            # Let a pass in progress finish (server/jobs): then no job holds a connection.
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            cas_parts.close()
            policy_limits.close()
            engine.dispose()

    app = FastAPI(
        title="chainproof",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.backend = backend
    app.state.cas_factory = cas_parts.factory
    app.state.cas_source = cas_parts.source
    app.state.policy_limits = policy_limits
    app.state.oidc_keys = JwksCache()  # CI issuers' signing keys, per process
    install_problems(app)

    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    for module in (
        identity,
        signin,
        orgs,
        people,
        overview,
        projects,
        contracts,
        policies,
        workflows_api,
        workflow_lifecycle,
        tokens,
        ci_identity,
        runs,
        cas,
        cas_backends,
        signing,
        bundles,
        tlog,
        findings,
        integrations,
        audit,
        discover_api,
        imports,
    ):
        api.include_router(module.router)
    app.include_router(api)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    web.install(app)  # the dashboard: /, /sign-in, /workflows, ... and /static
    app.mount("/cas/v1", cas_parts.app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, prefix="/api/")
    # /readyz, /metrics, request ids and access lines (docs/operations.md); last: outermost.
    instrument(
        app,
        settings,
        engine=engine,
        sessions=sessions,
        embedded=backend,
        shared_metrics=shared_metrics,
    )
    return app
