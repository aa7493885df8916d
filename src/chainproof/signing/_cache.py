"""Memoised results of the verifier's costly, deterministic checks (private).

A verifier checks the same things again and again: the same timestamp tokens, log entries,
leaf certificates and SCTs when a bundle is verified twice (an admission check, a re-audit)
and the same trusted-root keys every time. :class:`CheckCache` remembers the *successful*
result of a check keyed by every input it depends on (the exact bytes checked, the signing
time), so a repeat costs a dictionary lookup; failures are never remembered, so a bad bundle
is checked in full each time and reports the same error. Results that also depend on the
clock (a log's integrated time must not be in the future) are re-checked by the caller on
every hit.

One cache belongs to one trusted root (:func:`cache_for`): a root's authorities, logs and
keys are an input of every check, and a root object never changes after it is built.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: Entries kept per trusted root; the oldest use is evicted first.
MAX_ENTRIES = 8192


class CheckCache:
    """A bounded LRU map from a check's inputs to its successful result."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The remembered result for ``key``, else ``compute()`` (remembered if it returns;
        an exception propagates and nothing is stored)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                found: T = self._data[key]
                return found
        value = compute()
        with self._lock:
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._data)


_BY_ROOT: weakref.WeakKeyDictionary[object, CheckCache] = weakref.WeakKeyDictionary()
_BY_ROOT_LOCK = threading.Lock()


def cache_for(root: object) -> CheckCache:
    """The cache of a trusted root object (created on first use, dropped with the root)."""
    with _BY_ROOT_LOCK:
        cache = _BY_ROOT.get(root)
        if cache is None:
            cache = _BY_ROOT[root] = CheckCache()
        return cache
