"""Meta's usage headers and the back-off they call for.

Every Graph API response may carry (https://developers.facebook.com/docs/graph-api/overview/rate-limiting):

* ``X-App-Usage: {"call_count": 28, "total_time": 25, "total_cputime": 25}``: the app's share of
  its hourly platform limit, in percent.
* ``X-Business-Use-Case-Usage: {"<business id>": [{"type": "instagram", "call_count": 95,
  "total_cputime": 20, "total_time": 30, "estimated_time_to_regain_access": 5}]}``: per business
  object; ``estimated_time_to_regain_access`` is in *minutes* (0 when not throttled).

Meta throttles at 100 %. ``UsageGuard`` stops us first: once any percentage exceeds
``threshold`` (90), calls pause for the time Meta estimates (``estimated_time_to_regain_access``)
or, when it gives none, for ``cooldown_seconds`` (the hourly window keeps rolling, so usage
falls as old calls age out).

The decision, sleep or raise: a pause of at most ``max_inline_wait_seconds`` is slept in place
(injectable ``sleep``), so a sync only slows down. A longer pause raises
``QuotaExhaustedError(retry_after=...)`` *before* sending anything: a worker thread should not
sit idle for many minutes, and the job system reschedules the job after ``retry_after``. The
response that crossed the threshold is still returned; only later calls wait. A fresher response
reporting usage back under the threshold lifts the pause.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from socialpulse.providers.base import Platform, QuotaExhaustedError

__all__ = ["APP_USAGE_HEADER", "BUC_USAGE_HEADER", "Usage", "UsageGuard", "parse_usage"]

log = structlog.get_logger(__name__)

APP_USAGE_HEADER = "X-App-Usage"
BUC_USAGE_HEADER = "X-Business-Use-Case-Usage"
_PERCENT_KEYS = ("call_count", "total_time", "total_cputime")


@dataclass(frozen=True, slots=True)
class Usage:
    """The highest usage percentage reported, and Meta's own wait estimate if it gave one."""

    percent: float
    regain_seconds: float | None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _header_json(headers: Mapping[str, str], name: str) -> Any:
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        log.warning("instagram.usage.unreadable", header=name, value=value[:200])
        return None


def parse_usage(headers: Mapping[str, str]) -> Usage | None:
    """The usage reported in ``headers``; ``None`` when there is no (readable) usage header."""
    entries: list[dict[str, Any]] = []
    app = _header_json(headers, APP_USAGE_HEADER)
    if isinstance(app, dict):
        entries.append(app)
    business = _header_json(headers, BUC_USAGE_HEADER)
    if isinstance(business, dict):
        for per_object in business.values():
            if isinstance(per_object, list):
                entries.extend(e for e in per_object if isinstance(e, dict))
    if not entries:
        return None
    percents = [p for e in entries for k in _PERCENT_KEYS if (p := _number(e.get(k))) is not None]
    regains = [
        m for e in entries if (m := _number(e.get("estimated_time_to_regain_access"))) is not None
    ]
    regain_minutes = max(regains, default=0.0)
    return Usage(
        percent=max(percents, default=0.0),
        regain_seconds=regain_minutes * 60.0 if regain_minutes > 0 else None,
    )


class UsageGuard:
    """Pauses calls while the reported usage is above ``threshold`` percent. Thread-safe."""

    def __init__(
        self,
        *,
        threshold: float = 90.0,
        cooldown_seconds: float = 60.0,
        max_inline_wait_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown_seconds = cooldown_seconds
        self.max_inline_wait_seconds = max_inline_wait_seconds
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._paused_until: float | None = None
        self.last_usage: Usage | None = None

    def pause_for(self, seconds: float) -> None:
        """Pause calls for ``seconds`` (a throttling error said so)."""
        with self._lock:
            until = self._clock() + seconds
            self._paused_until = max(until, self._paused_until or until)

    def remaining(self) -> float:
        with self._lock:
            if self._paused_until is None:
                return 0.0
            return max(0.0, self._paused_until - self._clock())

    def observe(self, headers: Mapping[str, str], endpoint: str) -> Usage | None:
        """Read the usage headers of a response (successful or not)."""
        usage = parse_usage(headers)
        if usage is None:
            return None
        with self._lock:
            self.last_usage = usage
            if usage.percent <= self.threshold:
                self._paused_until = None
                return usage
            wait = usage.regain_seconds or self.cooldown_seconds
            self._paused_until = self._clock() + wait
        log.warning(
            "instagram.usage.high",
            endpoint=endpoint,
            percent=usage.percent,
            pause_seconds=wait,
        )
        return usage

    def before_request(self, endpoint: str) -> None:
        """Sleep through a short pause; raise ``QuotaExhaustedError`` for a long one."""
        with self._lock:
            deadline = self._paused_until
            wait = 0.0 if deadline is None else max(0.0, deadline - self._clock())
        if wait <= 0:
            return
        if wait > self.max_inline_wait_seconds:
            raise QuotaExhaustedError(
                f"Instagram usage is above {self.threshold:.0f} % of Meta's rate limit; "
                f"calls are paused for {wait:.0f} s",
                platform=Platform.INSTAGRAM.value,
                endpoint=endpoint,
                retry_after=wait,
            )
        log.info("instagram.usage.waiting", endpoint=endpoint, wait_seconds=wait)
        self._sleep(wait)
        with self._lock:
            # Served: lift the pause we slept through (unless a newer, later one replaced it).
            if self._paused_until is not None and deadline is not None:
                if self._paused_until <= deadline:
                    self._paused_until = None
