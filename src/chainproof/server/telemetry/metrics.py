"""Prometheus metrics (docs/operations.md lists them).

The counters and histograms live in prometheus_client's default registry: one set per
process, shared by every app the process builds (tests build many). Under ``server start
--workers N`` they live in files, one set per process, and ``/metrics`` sums them
(:func:`endpoint`). What belongs to one app,
its database pool and its organisations' CAS backends, is read at scrape time by a
:class:`AppCollector` in a registry of the app's own, and ``/metrics`` answers both.

Labels stay bounded: requests are labelled by route template (``/api/v1/runs/{run_id}``,
never the path itself), method (unknown methods are ``other``) and status class; errors by
their stable ``code`` (errors.py); verification failures by the check their message names.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import logging
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from chainproof.errors import ChainproofError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from chainproof.policy import PolicyEvaluation

__all__ = [
    "CAS_VALIDATIONS",
    "DB_STATEMENTS",
    "JOB_FAILURES",
    "JOB_LAST_SUCCESS",
    "JOB_SECONDS",
    "POLICY_SECONDS",
    "PUSHES",
    "QUEUE_DEPTH",
    "REQUEST_SECONDS",
    "TLOG_BATCHED_ENTRIES",
    "TLOG_BATCHES",
    "VERIFICATION_FAILURES",
    "AppCollector",
    "count_statements",
    "counted_push",
    "endpoint",
    "observe_policy",
    "verification_failed",
]

log = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram(
    "chainproof_http_request_duration_seconds",
    "HTTP requests: time to the end of the response, by route template, method, status class.",
    ["route", "method", "status"],
)
PUSHES = Counter(
    "chainproof_pushes",
    "Attestation pushes by outcome: accepted, blocked (a gated policy violation), refused "
    "(the workflow is blocked), or the error code that refused it.",
    ["outcome"],
)
VERIFICATION_FAILURES = Counter(
    "chainproof_verification_failures",
    "Signatures, certificates, identities or digests that did not verify, by check.",
    ["check"],
)
POLICY_SECONDS = Histogram(
    "chainproof_policy_evaluation_seconds",
    "One policy evaluated by the control plane at push, by outcome.",
    ["outcome"],
)
JOB_SECONDS = Histogram(
    "chainproof_job_duration_seconds",
    "One pass of a periodic worker job.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
)
JOB_FAILURES = Counter(
    "chainproof_job_failures", "Passes of a periodic worker job that failed.", ["job"]
)
JOB_LAST_SUCCESS = Gauge(
    "chainproof_job_last_success_timestamp_seconds",
    "When a periodic worker job last finished a pass (Unix time).",
    ["job"],
)
QUEUE_DEPTH = Gauge(
    "chainproof_worker_queue_depth",
    "Items a worker job has still to process in its current pass (0 between passes).",
    ["queue"],
)
CAS_VALIDATIONS = Counter(
    "chainproof_cas_backend_validations",
    "Probes of organisations' CAS backends by the revalidation job, by result.",
    ["status"],
)

PUSH_FOLLOW_UPS = Counter(
    "chainproof_push_follow_ups",
    "Pushes whose follow-up (the VSA and the findings, after the answer) has run, by outcome: "
    "done, or failed (the worker's repair and periodic jobs catch up).",
    ["outcome"],
)
TLOG_BATCHES = Counter(
    "chainproof_tlog_batches",
    "Transparency-log batches this process committed (group commit: one transaction and one "
    "signed checkpoint each).",
)
TLOG_BATCHED_ENTRIES = Counter(
    "chainproof_tlog_batched_entries",
    "Transparency-log entries those batches appended.",
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# signing/verifier.py: "a message starts with the name of the check that failed".
_CHECK = re.compile(r"([A-Za-z][A-Za-z ]{0,30}?) check failed:")


def verification_failed(err: ChainproofError) -> None:
    """Count a verification failure under the check its message names (``other``)."""
    found = _CHECK.match(err.message)
    check = found.group(1).lower().replace(" ", "_") if found else "other"
    VERIFICATION_FAILURES.labels(check).inc()


DB_STATEMENTS = Counter(
    "chainproof_db_statements",
    "SQL statements sent to the database (only with CHAINPROOF_COUNT_SQL=1: a benchmarking "
    "aid, benchmarks/bench_ingest.py divides it by the pushes), by phase: ``request`` (the "
    "work that answers a request) or ``after_answer`` (what follows a push's answer).",
    ["phase"],
)

#: The phase the statements of the current context count under (:func:`statement_phase`).
_PHASE: ContextVar[str] = ContextVar("chainproof_statement_phase", default="request")


@contextlib.contextmanager
def statement_phase(phase: str) -> Iterator[None]:
    """Count the statements sent inside the block under ``phase``."""
    token = _PHASE.set(phase)
    try:
        yield
    finally:
        _PHASE.reset(token)


def count_statements(engine: Engine) -> None:
    """Count every statement ``engine`` executes in :data:`DB_STATEMENTS`."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        DB_STATEMENTS.labels(_PHASE.get()).inc()


def observe_policy(seconds: float, found: PolicyEvaluation | None, *, error: bool) -> None:
    """Record one policy evaluation: ``error`` (it could not be evaluated), ``skipped``,
    ``violated``, ``passed``, or ``not_applicable`` (nothing to judge)."""
    if error:
        outcome = "error"
    elif found is None:
        outcome = "not_applicable"
    elif found.skipped:
        outcome = "skipped"
    else:
        outcome = "violated" if found.violations else "passed"
    POLICY_SECONDS.labels(outcome).observe(seconds)


class _PushResult(Protocol):
    @property
    def blocked(self) -> bool: ...

    @property
    def refused(self) -> object: ...


P = ParamSpec("P")
R = TypeVar("R", bound=_PushResult)


def counted_push(fn: Callable[P, R]) -> Callable[P, R]:
    """Count every call of the push service in :data:`PUSHES` by its outcome."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            pushed = fn(*args, **kwargs)
        except ChainproofError as err:
            PUSHES.labels(err.code).inc()
            raise
        except Exception:
            PUSHES.labels("error").inc()
            raise
        if pushed.refused is not None:
            PUSHES.labels("refused").inc()
        else:
            PUSHES.labels("blocked" if pushed.blocked else "accepted").inc()
        return pushed

    return wrapper


class AppCollector(Collector):
    """What one app holds, read at scrape time: its database pool and, when it has the
    organisations' backends (the control plane), how many CAS backends are in each state."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None) -> None:
        self.engine = engine
        self.sessions = sessions

    def describe(self) -> list[Metric]:
        return []  # collected on scrape only: no query when the registry is built

    def collect(self) -> Iterator[Metric]:
        yield from self._pool()
        if self.sessions is not None:
            yield from self._backends(self.sessions)

    def _pool(self) -> Iterator[Metric]:
        pool = self.engine.pool
        # QueuePool (PostgreSQL, SQLite files) has these; other pools lack some.
        for name, doc in (
            ("size", "Connections the pool keeps open at most, overflow aside."),
            ("checkedout", "Connections in use by requests and jobs."),
            ("checkedin", "Idle connections in the pool."),
            ("overflow", "Connections open beyond the pool size (negative: room left)."),
        ):
            method = getattr(pool, name, None)
            if callable(method):
                yield GaugeMetricFamily(f"chainproof_db_pool_{name}", doc, value=method())

    def _backends(self, sessions: sessionmaker[Session]) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from chainproof.server.db import CasBackend

        family = GaugeMetricFamily(
            "chainproof_cas_backends",
            "Organisations' CAS backends by their last recorded validation status.",
            labels=["status"],
        )
        try:
            with sessions() as session:
                rows = session.execute(
                    select(CasBackend.status, func.count())
                    .where(CasBackend.provider != "inline")
                    .group_by(CasBackend.status)
                )
                counts = {status: count for status, count in rows}
        except Exception as err:  # the database is down: the scrape still answers
            log.warning("metrics: cannot count CAS backends (%s)", type(err).__name__)
            return
        for status in ("ok", "invalid", "unknown"):
            family.add_metric([status], counts.get(status, 0))
        yield family


def endpoint(
    collector: AppCollector, token: str, *, shared: Path | None = None
) -> Callable[[Request], Response]:
    """The ``/metrics`` handler: the process's metrics and the app's; with ``token``, only
    for ``Authorization: Bearer <token>`` (401 otherwise).

    ``shared``: the directory where the processes of ``server start --workers N`` write their
    metrics (prometheus_client's multiprocess mode, which the supervisor turned on before any
    of them imported it): the handler answers their sum, whichever process the scrape reaches.
    """
    own = CollectorRegistry(auto_describe=False)
    own.register(collector)
    process: CollectorRegistry = REGISTRY
    if shared is not None:
        process = CollectorRegistry()
        MultiProcessCollector(process, path=str(shared))  # type: ignore[no-untyped-call]

    def metrics(request: Request) -> Response:
        if token and not _bearer_is(request, token):
            return Response(
                "metrics need Authorization: Bearer <CHAINPROOF_METRICS_TOKEN>\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                media_type="text/plain",
            )
        body = generate_latest(process) + generate_latest(own)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics


def _bearer_is(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
