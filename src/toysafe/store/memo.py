"""Per-process memo of pure computations over stored data, keyed by the data's content.

A web request reads what it needs from the database every time (so a write by another worker
or process is seen by the next request), then looks up the expensive pure step — parsing a
stored document, building the lab registry, assessing and verifying a product — by a key made
of exactly the inputs it read (content digests, never row ids or time alone). Equal inputs
give equal results, so a hit is always right and nothing needs invalidating; changed data
simply makes a new key. Each memo is a bounded LRU (old keys fall out) and thread-safe (the
server's thread pool runs requests at once). Values handed out are shared: they must be
immutable (frozen models) or copied by the caller (see ``copied``).

``TTLCache`` is the one bounded LRU of the project: ``Memo`` keeps its entries forever (until
they fall out), the web layer's caches and throttles let theirs expire.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A dict that forgets: entries expire after ``ttl`` seconds, and past ``max_size`` the
    least recently used goes first, so no table grows without bound."""

    def __init__(
        self, max_size: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_size, self.ttl, self.clock = max_size, ttl, clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self.lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            if self.clock() - hit[0] > self.ttl:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return hit[1]

    def __setitem__(self, key: K, value: V) -> None:
        with self.lock:
            self._data[key] = (self.clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        with self.lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self.lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class Memo(Generic[V]):
    """A bounded LRU of computed values that never expire (a content key cannot go stale)."""

    def __init__(self, size: int) -> None:
        self._items: TTLCache[Hashable, V] = TTLCache(size, math.inf)
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        found = self.peek(key)
        if found is not None:
            return found
        value = compute()  # not under a lock: two threads may compute the same value once each
        self.put(key, value)
        return value

    def peek(self, key: Hashable) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: Hashable, value: V) -> None:
        self.misses += 1
        self._items[key] = value

    def copied(self, key: Hashable, compute: Callable[[], V]) -> V:
        """Like ``get``, but every caller receives its own copy of every mutable part."""
        return fresh(self.get(key, compute))

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def fresh(value: Any) -> Any:
    """A copy of the mutable parts of ``value`` (lists, dicts, non-frozen dataclasses, at any
    depth); frozen dataclasses, tuples and scalars are immutable and shared as they are."""
    if isinstance(value, list):
        return [fresh(v) for v in value]
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(fresh(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = getattr(type(value), "__dataclass_params__", None)
        if params is not None and not params.frozen:
            out = copy.copy(value)
            for f in dataclasses.fields(value):
                setattr(out, f.name, fresh(getattr(value, f.name)))
            return out
    return value


def digest(value: Any) -> str:
    """A content key for JSON-like data (dates as ISO text)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def every() -> list[Memo[Any]]:
    """The process's memos (tests clear them to prove a cold path gives the same answer)."""
    return [REPORTS, REGISTRIES, PROFILES, EVALUATIONS]


# Parsed lab reports by (report id, stored digest of the document).
REPORTS: Memo[Any] = Memo(8_192)
# The lab registry by the registry's rows.
REGISTRIES: Memo[Any] = Memo(8)
# Parsed profiles by the digest of the stored profile.
PROFILES: Memo[Any] = Memo(4_096)
# (assessment, verification) of a product by the digest of everything they depend on.
EVALUATIONS: Memo[Any] = Memo(2_048)
