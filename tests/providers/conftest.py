"""Shared fixtures for provider tests: recorded payloads, a fake clock, no real sleeps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_routes import Routes
from socialpulse.providers.base import RecordingObserver
from socialpulse.providers.http import CircuitBreaker, reset_breakers

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    # Breakers are process-wide by design; one test's failures must not open another's.
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def payload() -> Callable[[str, str], Any]:
    def load(platform: str, name: str) -> Any:
        return json.loads((PAYLOADS / platform / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def sleeps() -> list[float]:
    """Pass ``sleeps.append`` as the retry sleep: records waits instead of waiting."""
    return []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("test", failure_threshold=5, cooldown_seconds=60.0, clock=clock)


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()


@pytest.fixture
def routes() -> Routes:
    return Routes()
