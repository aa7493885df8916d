"""Put the telemetry on an app: the control plane (server/app.py) and the standalone CAS
service (server/cas_service.py) get the same ``/readyz``, ``/metrics`` and request telemetry."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from chainproof.cas.fs import FilesystemBackend
from chainproof.errors import InvalidInput
from chainproof.server.settings import Settings
from chainproof.server.telemetry import metrics
from chainproof.server.telemetry.readiness import BACKEND_MODES, Readiness
from chainproof.server.telemetry.requests import RequestTelemetry

__all__ = ["check_settings", "instrument"]


def instrument(
    app: Starlette,
    settings: Settings,
    *,
    engine: Engine,
    sessions: sessionmaker[Session],
    embedded: FilesystemBackend,
    shared_metrics: Path | None = None,
) -> None:
    """Add ``/readyz``, ``/metrics`` (unless ``metrics = "off"``) and, outermost of the
    middleware added so far, the request id / access log / latency middleware. Call it
    after the app's other middleware. ``shared_metrics``: the directory where the processes
    of ``server start --workers N`` keep their metrics (``/metrics`` answers their sum)."""
    check_settings(settings)
    readiness = Readiness(
        engine=engine,
        embedded=embedded,
        sessions=sessions,
        backends_mode=settings.readyz_cas_backends,
    )

    def readyz(request: Request) -> JSONResponse:
        ready, body = readiness.check()
        return JSONResponse(body, status_code=200 if ready else 503)

    app.add_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    if settings.metrics == "on":
        collector = metrics.AppCollector(engine, sessions)
        token = settings.metrics_token.get_secret_value()
        handler = metrics.endpoint(collector, token, shared=shared_metrics)
        app.add_route("/metrics", handler, methods=["GET"], include_in_schema=False)
    app.add_middleware(RequestTelemetry)


def check_settings(settings: Settings) -> None:
    """InvalidInput for a ``metrics`` or ``readyz_cas_backends`` value we do not know (the
    app factories call it before they open anything)."""
    if settings.metrics not in ("on", "off"):
        raise InvalidInput(
            f"unknown metrics setting {settings.metrics!r}",
            hint="set CHAINPROOF_METRICS to on or off",
        )
    if settings.readyz_cas_backends not in BACKEND_MODES:
        raise InvalidInput(
            f"unknown readyz_cas_backends setting {settings.readyz_cas_backends!r}",
            hint="set CHAINPROOF_READYZ_CAS_BACKENDS to require or report",
        )
