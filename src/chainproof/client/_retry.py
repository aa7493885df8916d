"""How long one idempotent request keeps trying: capped exponential backoff with full jitter,
within a total time budget, never sooner than the server's ``Retry-After``.

A server whose database is down answers 503 with ``Retry-After`` (docs/architecture.md §7);
CI jobs that hit it at the same moment must neither give up at once nor retry in lockstep,
and a job must not hang for ever: the budget (``CHAINPROOF_RETRY_TIMEOUT``, default 30 s, 0
turns retries off) bounds the whole request, sleeping included.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Seconds one request may spend retrying, by default.
DEFAULT_RETRY_TIMEOUT = 30.0
#: The longest single wait between two attempts.
MAX_BACKOFF = 20.0


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When to retry: at most ``retries`` times (None: as often as the budget allows),
    waiting ``backoff * 2**n`` seconds at most (full jitter), for ``timeout`` seconds in all.
    ``on_retry`` receives one line before each wait (the CLI prints it)."""

    retries: int | None = None
    backoff: float = 0.5
    timeout: float = DEFAULT_RETRY_TIMEOUT
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    on_retry: Callable[[str], None] | None = None

    def start(self) -> Attempts:
        """The retry state of one request, its budget starting now."""
        return Attempts(self)


class Attempts:
    """One request's retries so far."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.count = 0
        self._started = policy.clock()
        self._slept = 0.0

    def wait(self, why: str, retry_after: float | None = None) -> bool:
        """Sleep before the next attempt and return True; False (without sleeping) when the
        retries or the time budget are spent, or the server asks for a longer wait."""
        policy = self.policy
        if policy.retries is not None and self.count >= policy.retries:
            return False
        cap = min(MAX_BACKOFF, policy.backoff * (2**self.count))
        # Full jitter (AWS architecture blog, "Exponential Backoff and Jitter") spreads the
        # retries of many CI jobs hitting one restarting server.
        delay = random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography
        if retry_after is not None:
            delay = max(delay, retry_after)
        # A sleeping stand-in (tests) does not move the clock: count what was slept too.
        spent = max(policy.clock() - self._started, self._slept)
        left = policy.timeout - spent
        if delay > left:
            return False
        if policy.on_retry is not None:
            policy.on_retry(f"{why}; retrying in {delay:.1f} s ({left:.0f} s left)")
        policy.sleep(delay)
        self._slept += delay
        self.count += 1
        return True


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (RFC 9110 §10.2.3); None for
    a missing value or an HTTP date (the backoff decides then)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_BACKOFF)
