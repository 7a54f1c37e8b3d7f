"""A value read at most once per interval: for probes that are cheap to answer slightly late
and costly to answer per request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Throttled(Generic[T]):
    """`get()` answers what `read()` answered, calling it at most once per `ttl_s` seconds.

    No lock: two threads that find it expired at once both read, and the later answer stays.
    A lock would make every caller wait behind one slow read (a queue that does not answer)."""

    def __init__(self, read: Callable[[], T], ttl_s: float) -> None:
        self._read = read
        self._ttl_s = ttl_s
        self._cached: tuple[float, T] | None = None

    def fresh(self) -> T | None:
        """The value while it is fresh, else None: for callers that must not block on a read
        (the event loop) and take a thread only when one is due."""
        cached = self._cached
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        return None

    def get(self) -> T:
        cached = self._cached
        now = time.monotonic()
        if cached is not None and now < cached[0]:
            return cached[1]
        value = self._read()
        self._cached = (now + self._ttl_s, value)
        return value

    def clear(self) -> None:
        self._cached = None
