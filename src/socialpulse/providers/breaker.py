"""Circuit breakers of the provider HTTP core, one per platform and upstream origin.

The circuit breaker is a small class of our own rather than ``pybreaker``: pybreaker counts every
exception as a failure unless told otherwise, needs listener classes for logging, and its clock
is not injectable, whereas we need exactly "consecutive transient failures per platform and
upstream, one trial after a cooldown, a fake clock in tests" in about sixty lines.

Breakers are keyed by platform *and* upstream origin (scheme, host, port): a workspace that
points a Bluesky account at a dead AppView, or a Mastodon account at a dead instance, pauses
calls to that upstream only, never everyone's calls to the public one. Only transient upstream
failures (5xx, 429, timeouts, connection errors) count; an answered 4xx (bad credentials,
unknown account, validation) proves the upstream is up, and a call that got no answer for a
local reason (a request refused before it left, a bug) gives no verdict at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import structlog

from socialpulse.providers.base import CircuitOpenError

__all__ = [
    "MAX_IDLE_BREAKERS",
    "CircuitBreaker",
    "breaker_origin",
    "get_breaker",
    "reset_breakers",
]

log = structlog.get_logger(__name__)


class CircuitBreaker:
    """Consecutive-failure circuit breaker for one platform's upstream (``origin``).

    * closed: calls pass; ``failure_threshold`` consecutive transient failures open it.
    * open: calls fail fast with ``CircuitOpenError`` until ``cooldown_seconds`` have passed.
    * half-open: one trial call passes (concurrent callers still fail fast); success closes the
      circuit, failure re-opens it for another cooldown.

    Only transient failures count: a 404 or 401 proves the platform is up, so it resets the count.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        cooldown_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        origin: str | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.name = name
        self.origin = origin
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state_locked()

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @property
    def idle(self) -> bool:
        """Closed with no failures counted: forgetting it loses nothing."""
        with self._lock:
            return self._opened_at is None and self._failures == 0 and not self._trial_in_flight

    def _state_locked(self) -> str:
        if self._opened_at is None:
            return self.CLOSED
        if self._clock() - self._opened_at >= self.cooldown_seconds:
            return self.HALF_OPEN
        return self.OPEN

    def remaining_cooldown(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.cooldown_seconds - (self._clock() - self._opened_at))

    def before_call(self, endpoint: str) -> None:
        """Raise ``CircuitOpenError`` unless a call may go through now."""
        with self._lock:
            state = self._state_locked()
            if state == self.CLOSED:
                return
            if state == self.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                log.info(
                    "provider.circuit.half_open",
                    platform=self.name,
                    origin=self.origin,
                    endpoint=endpoint,
                )
                return
            assert self._opened_at is not None
            retry_after = max(0.0, self.cooldown_seconds - (self._clock() - self._opened_at))
        log.info(
            "provider.circuit.rejected",
            platform=self.name,
            origin=self.origin,
            endpoint=endpoint,
            retry_after=retry_after,
        )
        where = f"{self.name} ({self.origin})" if self.origin else self.name
        raise CircuitOpenError(
            f"{where} is failing; calls are paused for {retry_after:.0f} s "
            f"after {self.failure_threshold} consecutive failures",
            platform=self.name,
            endpoint=endpoint,
            retry_after=retry_after,
        )

    def record_success(self) -> None:
        with self._lock:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False
        if was_open:
            log.info("provider.circuit.closed", platform=self.name, origin=self.origin)

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            reopen = self._trial_in_flight
            self._trial_in_flight = False
            if reopen or (self._opened_at is None and self._failures >= self.failure_threshold):
                self._opened_at = self._clock()
                opened = True
            else:
                opened = False
            failures = self._failures
        if opened:
            log.warning(
                "provider.circuit.opened", platform=self.name, origin=self.origin, failures=failures
            )

    def abort_trial(self) -> None:
        """Give back a half-open trial slot without a verdict (the call died locally)."""
        with self._lock:
            self._trial_in_flight = False

    def reset(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False


_breakers: dict[tuple[str, str], CircuitBreaker] = {}
_breakers_lock = threading.Lock()
# Origins come from account settings (a Mastodon instance, a Bluesky AppView), so their number
# is up to users: past this many breakers, the idle ones (closed, nothing counted) are dropped.
MAX_IDLE_BREAKERS = 1024


def breaker_origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, lower case, default ports spelled out ("" if none).

    The port is part of it: failures of ``http://public.api.bsky.app:81`` (which anyone can
    configure) must not pause ``https://public.api.bsky.app``."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    scheme = parts.scheme.lower()
    port = port or {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def get_breaker(platform: str, origin: str = "") -> CircuitBreaker:
    """The process-wide circuit breaker of a platform's upstream ``origin`` (created on first
    use); ``origin`` is a URL or ``breaker_origin``'s form, "" for "the platform" as a whole."""
    key = (str(platform), breaker_origin(origin) if "://" in origin else origin)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            if len(_breakers) >= MAX_IDLE_BREAKERS:
                for stale in [k for k, b in _breakers.items() if b.idle]:
                    del _breakers[stale]
            breaker = _breakers[key] = CircuitBreaker(key[0], origin=key[1] or None)
        return breaker


def reset_breakers() -> None:
    """Forget every process-wide breaker (tests)."""
    with _breakers_lock:
        _breakers.clear()
