"""Timing shared by the benchmarks: a call's median and tail latency, and their report line."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def percentiles(fn: Callable[[], Any], rounds: int, tail: float = 0.99) -> tuple[float, float]:
    """``fn``'s median and ``tail`` quantile in ms over ``rounds`` calls, after one warm call
    (caches, prepared plans, templates)."""
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(tail * (len(times) - 1)))]


def line(
    name: str, p50: float, high: float, target: float | None = None, *, tail: str = "p99"
) -> None:
    """``name  p50 … ms  p99 … ms``, with ``ok`` or ``OVER`` when the tail has a target."""
    verdict = "" if target is None else ("  ok" if high <= target else f"  OVER {target:.0f} ms")
    print(f"  {name:<46} p50 {p50:8.2f} ms   {tail} {high:8.2f} ms{verdict}")
