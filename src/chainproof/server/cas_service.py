"""The CAS service wired to the control plane's database: mounted in the control plane at
``/cas/v1`` (embedded profile) or run alone by ``chainproof cas serve``.

Either way it verifies CAS tokens with the server's secret key, resolves their ``backend``
claim through ``cas_backends`` (credentials unsealed with the same key) and records uploads
in ``cas_blobs``. The standalone app serves ``/cas/v1/...``, ``/healthz``, ``/readyz`` and
``/metrics``; point the control plane at it with ``CHAINPROOF_CAS_URL=http://HOST:PORT/cas/v1``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from chainproof.cas.app import Target, create_cas_app
from chainproof.cas.fs import FilesystemBackend
from chainproof.cas.tokens import EMBEDDED
from chainproof.errors import ServiceError
from chainproof.server.db.session import make_engine, make_sessionmaker
from chainproof.server.services.cas import DbBackendSource, DbBlobIndex
from chainproof.server.services.cas_backends import BackendFactory
from chainproof.server.services.cas_endpoints import EndpointPolicy
from chainproof.server.settings import Settings
from chainproof.server.telemetry.wiring import check_settings, instrument

__all__ = ["CasParts", "build_cas", "create_cas_service"]


@dataclass
class CasParts:
    """What the CAS app is made of; ``close()`` releases the backends."""

    app: Starlette
    factory: BackendFactory
    source: DbBackendSource
    embedded: FilesystemBackend

    def close(self) -> None:
        """Close the configured backends and the embedded store."""
        self.source.close()
        self.embedded.close()


def _secret(settings: Settings) -> str:
    secret = settings.secret_key.get_secret_value()
    if not secret:
        raise ServiceError(
            "no secret key configured",
            hint="run `chainproof server init` or set CHAINPROOF_SECRET_KEY",
        )
    return secret


def build_cas(settings: Settings, sessions: sessionmaker[Session]) -> CasParts:
    """The CAS app over the database behind ``sessions``."""
    secret = _secret(settings)
    factory = BackendFactory(
        master_key=secret,
        fs_root=settings.fs_backends_path,
        endpoints=EndpointPolicy.parse(settings.cas_allowed_endpoints),
    )
    embedded = FilesystemBackend(settings.cas_path)
    source = DbBackendSource(
        sessions,
        factory,
        Target(embedded, EMBEDDED, settings.cas_max_blob_size or None, "embedded filesystem"),
    )
    app = create_cas_app(source, secret, DbBlobIndex(sessions))
    return CasParts(app=app, factory=factory, source=source, embedded=embedded)


def create_cas_service(settings: Settings) -> Starlette:
    """The standalone CAS process: ``/cas/v1``, ``/healthz``, ``/readyz`` and ``/metrics``
    (``chainproof cas serve``)."""
    _secret(settings)
    check_settings(settings)
    engine = make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    sessions = make_sessionmaker(engine)
    parts = build_cas(settings, sessions)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            parts.close()
            engine.dispose()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[Route("/healthz", healthz), Mount("/cas/v1", app=parts.app)],
        lifespan=lifespan,
    )
    instrument(app, settings, engine=engine, sessions=sessions, embedded=parts.embedded)
    return app
