"""Moving-window rate limits per key, on the `limits` library.

Counts live in memory for the embedded install (one process) and in Redis when the task queue
is Redis, so every web process of a scaled-out install shares them.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from socialpulse.config import Settings


def storage_uri(settings: Settings) -> str:
    return settings.tasks_url if settings.tasks_backend == "redis" else "memory://"


class RateLimiter:
    """`hit(key)` counts one request of `key`; it answers None when allowed, else the number
    of seconds until the window lets the next one through (the Retry-After value)."""

    def __init__(self, spec: str, uri: str, namespace: str) -> None:
        try:
            self.limits: list[RateLimitItem] = parse_many(spec)
        except ValueError as exc:
            raise ValueError(f"invalid rate limit {spec!r} for {namespace}: {exc}") from exc
        self.namespace = namespace
        storage = storage_from_string(uri)
        # A sync URI ("memory://", "redis://") gives a sync storage; "async+..." is not used.
        assert isinstance(storage, Storage), uri
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    def hit(self, key: str) -> int | None:
        for limit in self.limits:
            if not self.limiter.hit(limit, self.namespace, key):
                reset_at, _remaining = self.limiter.get_window_stats(limit, self.namespace, key)
                return max(1, math.ceil(reset_at - time.time()))
        return None

    def reset(self) -> None:
        self.storage.reset()
