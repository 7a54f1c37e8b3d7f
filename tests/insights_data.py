"""Hand-made insights data shared by the overview and ROI tests (the fixtures that write it
are in conftest.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

NEW_YORK = "America/New_York"
# 23:45 on Friday 2026-11-20 in New York (EST, UTC-5): the 7-day period is 14..20 November,
# from 2026-11-14T05:00Z to 2026-11-21T05:00Z.
NOW = dt.datetime(2026, 11, 21, 4, 45, tzinfo=dt.UTC)

Ingest = Callable[..., int]


def local(text: str) -> dt.datetime:
    """A New York wall-clock time as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(NEW_YORK)).astimezone(dt.UTC)


@dataclass
class HandMade:
    insta: int
    masto: int
    rival: int
    posts: dict[str, int]


@dataclass
class AiCosts:
    """What `ai_service.ai_costs_cents` answers in a test, and the periods it was asked for."""

    cents: int = 0
    calls: list[tuple[int, dt.datetime, dt.datetime]] = field(default_factory=list)
