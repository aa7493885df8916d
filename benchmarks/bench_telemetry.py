"""What the request telemetry costs per request (server/telemetry/requests.py).

Calls a one-route Starlette app directly over ASGI (no socket, no HTTP parsing), ``--requests``
times each: first bare (the baseline, measured in the same run), then wrapped in
``RequestTelemetry`` with access lines at INFO formatted as JSON into a discarded stream
(what ``server start`` with ``CHAINPROOF_LOG_FORMAT=json`` does, minus the terminal), and
with the access logger disabled (the metric and request id alone). Also times one ``/metrics``
scrape body (``generate_latest``) once those requests filled the latency histogram.

    python benchmarks/bench_telemetry.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import time
from typing import Any

from prometheus_client import REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from chainproof.server.telemetry.logs import JsonFormatter, RequestIdFilter
from chainproof.server.telemetry.requests import RequestTelemetry


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _app() -> Starlette:
    return Starlette(routes=[Route("/api/v1/runs/{run_id}", _hello)])


async def _drive(app: Any, count: int) -> float:
    """Seconds per request for ``count`` GETs."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/runs/0b6c",
        "raw_path": b"/api/v1/runs/0b6c",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "scheme": "http",
        "server": ("bench", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    for _ in range(200):  # warm
        await app(dict(scope), receive, send)
    start = time.perf_counter()
    for _ in range(count):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    count = parser.parse_args().requests

    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("chainproof.access")
    access.addHandler(handler)
    access.propagate = False

    bare = asyncio.run(_drive(_app(), count))
    access.setLevel(logging.INFO)
    logged = asyncio.run(_drive(RequestTelemetry(_app()), count))
    access.setLevel(logging.WARNING)
    quiet = asyncio.run(_drive(RequestTelemetry(_app()), count))

    print(f"{count} requests per variant, in-process ASGI")
    print(f"  baseline: bare app                      {bare * 1e6:8.1f} us/request")
    print(f"  + telemetry, JSON access line           {logged * 1e6:8.1f} us/request")
    print(f"  + telemetry, access logger disabled     {quiet * 1e6:8.1f} us/request")
    print(f"  telemetry cost with JSON access line    {(logged - bare) * 1e6:8.1f} us/request")
    start = time.perf_counter()
    body = generate_latest(REGISTRY)
    print(f"  /metrics body: {len(body)} bytes in {(time.perf_counter() - start) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
