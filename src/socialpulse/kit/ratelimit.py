"""Moving-window rate limits per key, on the `limits` library.

Counts live in memory for the embedded install (one process) and in Redis when the task queue
is Redis, so every web process of a scaled-out install shares them.

In memory they are this module's own windows, not `limits`' memory storage: that one starts a
timer thread to expire keys on nearly every hit, which was a third of an authenticated
request's cost under load.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from socialpulse.config import Settings


def storage_uri(settings: Settings) -> str:
    return settings.tasks_url if settings.tasks_backend == "redis" else "memory://"


class MemoryWindows:
    """Moving windows of this process: per (namespace, key, limit), the times of the hits
    still inside the window. Keys whose window emptied are dropped every PRUNE_EVERY hits."""

    PRUNE_EVERY = 10_000

    def __init__(self) -> None:
        self._events: dict[tuple[str, str, int, int], deque[float]] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, limit: RateLimitItem, namespace: str, key: str) -> int | None:
        """Counts a hit: None when the window had room, else the seconds until it has."""
        window = limit.get_expiry()
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault((namespace, key, limit.amount, window), deque())
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) >= limit.amount:
                return max(1, math.ceil(events[0] + window - now))
            events.append(now)
            self._hits += 1
            if self._hits % self.PRUNE_EVERY == 0:
                self._prune(now)
        return None

    def _prune(self, now: float) -> None:
        for entry, events in list(self._events.items()):
            if not events or events[-1] <= now - entry[3]:
                del self._events[entry]

    def reset(self) -> None:
        with self._lock:
            self._events.clear()


class RateLimiter:
    """`hit(key)` counts one request of `key`; it answers None when allowed, else the number
    of seconds until the window lets the next one through (the Retry-After value)."""

    def __init__(self, spec: str, uri: str, namespace: str) -> None:
        try:
            self.limits: list[RateLimitItem] = parse_many(spec)
        except ValueError as exc:
            raise ValueError(f"invalid rate limit {spec!r} for {namespace}: {exc}") from exc
        self.namespace = namespace
        self.memory: MemoryWindows | None = None
        self.storage: Storage | None = None
        if uri == "memory://":
            self.memory = MemoryWindows()
            return
        storage = storage_from_string(uri)
        # A sync URI ("redis://") gives a sync storage; "async+..." is not used.
        assert isinstance(storage, Storage), uri
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    def hit(self, key: str) -> int | None:
        for limit in self.limits:
            if self.memory is not None:
                retry_after = self.memory.hit(limit, self.namespace, key)
                if retry_after is not None:
                    return retry_after
            elif not self.limiter.hit(limit, self.namespace, key):
                reset_at, _remaining = self.limiter.get_window_stats(limit, self.namespace, key)
                return max(1, math.ceil(reset_at - time.time()))
        return None

    def reset(self) -> None:
        if self.memory is not None:
            self.memory.reset()
        if self.storage is not None:
            self.storage.reset()
